// Push-request OIDC verification (shared/auth/oidc.ts) and Google ID tokens for the API
// (shared/auth/google-id-token.ts): tokens minted here with our own RS256 keys, JWKS served on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload, type CryptoKey } from 'jose';
import { AuthError, createPushVerifier } from '../../shared/auth/oidc.ts';
import { createGoogleIdTokenVerifier } from '../../shared/auth/google-id-token.ts';

const AUD = 'https://browser-worker.example.run.app/push';
const SA = 'pubsub-push@htbase-test.iam.gserviceaccount.com';
let key: CryptoKey;
let otherKey: CryptoKey;
let jwk: JWK;
let server: Server;
let jwksUrl: string;
let jwksStatus = 200;
let jwksFetches = 0;

before(async () => {
  ({ privateKey: otherKey } = await generateKeyPair('RS256'));
  // `key` signs; its public half is served as a JWKS the way Google publishes its certs.
  const pair = await generateKeyPair('RS256', { extractable: true });
  key = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  server = createServer((req, res) => {
    jwksFetches++;
    res.statusCode = jwksStatus;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(jwksStatus === 200 ? { keys: [jwk] } : { error: 'down' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/certs`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

async function mint(
  claims: JWTPayload,
  o: { signWith?: CryptoKey; kid?: string; iss?: string; aud?: string; exp?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email_verified: true, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: o.kid ?? 'k1', typ: 'JWT' })
    .setIssuer(o.iss ?? 'https://accounts.google.com')
    .setAudience(o.aud ?? AUD)
    .setIssuedAt(now - 10)
    .setExpirationTime(o.exp ?? now + 3600)
    .setSubject('1234567890')
    .sign(o.signWith ?? key);
}

function refused(status: number, code?: string) {
  return (err: unknown) => {
    assert.ok(err instanceof AuthError, `expected AuthError, got ${String(err)}`);
    assert.equal(err.status, status, `${err.code}: ${err.message}`);
    if (code) assert.equal(err.code, code);
    return true;
  };
}

test('push verifier accepts a token from the push service account for our audience', async () => {
  const v = createPushVerifier({ audience: AUD, serviceAccountEmail: SA, jwksUrl });
  const claims = await v.verify(`Bearer ${await mint({ email: SA })}`);
  assert.equal(claims.email, SA);
  assert.equal(claims.aud, AUD);
  // The short issuer form Google also uses is accepted by default.
  assert.equal((await v.verify(`bearer ${await mint({ email: SA }, { iss: 'accounts.google.com' })}`)).email, SA);
});

test('push verifier refuses: no header 401, not Bearer 401, bad signature 401, expired 401, foreign issuer 401', async () => {
  const v = createPushVerifier({ audience: AUD, serviceAccountEmail: SA, jwksUrl });
  await assert.rejects(v.verify(undefined), refused(401, 'missing_token'));
  await assert.rejects(v.verify(''), refused(401, 'missing_token'));
  await assert.rejects(v.verify('Basic dXNlcjpwYXNz'), refused(401, 'malformed_authorization'));
  await assert.rejects(v.verify('Bearer not.a.jwt'), refused(401, 'invalid_token'));
  await assert.rejects(
    v.verify(`Bearer ${await mint({ email: SA }, { signWith: otherKey })}`),
    refused(401, 'invalid_token'),
  );
  await assert.rejects(
    v.verify(`Bearer ${await mint({ email: SA }, { kid: 'unknown' })}`),
    refused(401, 'invalid_token'),
  );
  await assert.rejects(
    v.verify(`Bearer ${await mint({ email: SA }, { exp: Math.floor(Date.now() / 1000) - 3600 })}`),
    refused(401, 'token_expired'),
  );
  await assert.rejects(
    v.verify(`Bearer ${await mint({ email: SA }, { iss: 'https://evil.example' })}`),
    refused(401, 'invalid_iss'),
  );
  // A token whose payload was edited after signing.
  const [h, , s] = (await mint({ email: SA })).split('.');
  const forged = Buffer.from(
    JSON.stringify({ iss: 'https://accounts.google.com', aud: AUD, email: SA, exp: 9999999999 }),
  ).toString('base64url');
  await assert.rejects(v.verify(`Bearer ${h}.${forged}.${s}`), refused(401, 'invalid_token'));
});

test('push verifier refuses a genuine token for another audience or another account with 403', async () => {
  const v = createPushVerifier({ audience: AUD, serviceAccountEmail: SA, jwksUrl });
  await assert.rejects(
    v.verify(`Bearer ${await mint({ email: SA }, { aud: 'https://other.example' })}`),
    refused(403, 'wrong_audience'),
  );
  await assert.rejects(
    v.verify(`Bearer ${await mint({ email: 'someone@htbase-test.iam.gserviceaccount.com' })}`),
    refused(403, 'wrong_service_account'),
  );
  await assert.rejects(
    v.verify(`Bearer ${await mint({ email: SA, email_verified: false })}`),
    refused(403, 'wrong_service_account'),
  );
  await assert.rejects(v.verify(`Bearer ${await mint({})}`), refused(403, 'wrong_service_account'));
});

test('keys can be given directly instead of a JWKS URL', async () => {
  const v = createPushVerifier({ audience: AUD, serviceAccountEmail: SA, keys: { keys: [jwk] } });
  const before = jwksFetches;
  assert.equal((await v.verify(`Bearer ${await mint({ email: SA })}`)).email, SA);
  assert.equal(jwksFetches, before);
});

test("an unreachable key set is a 503, not the caller's fault", async () => {
  jwksStatus = 500;
  try {
    const v = createPushVerifier({ audience: AUD, serviceAccountEmail: SA, jwksUrl: `${jwksUrl}?fresh` });
    await assert.rejects(v.verify(`Bearer ${await mint({ email: SA })}`), refused(503, 'jwks_unavailable'));
    const gone = createPushVerifier({ audience: AUD, serviceAccountEmail: SA, jwksUrl: 'http://127.0.0.1:1/certs' });
    await assert.rejects(gone.verify(`Bearer ${await mint({ email: SA })}`), refused(503, 'jwks_unavailable'));
  } finally {
    jwksStatus = 200;
  }
});

test('Google ID tokens: allowed emails and Workspace domains (hd), verified email required', async () => {
  const v = createGoogleIdTokenVerifier({
    audience: 'client-id.apps.googleusercontent.com',
    allowedEmails: ['Alice@Example.com'],
    allowedDomains: ['corp.example'],
    jwksUrl,
  });
  const aud = 'client-id.apps.googleusercontent.com';
  const alice = await v.verify(`Bearer ${await mint({ email: 'alice@example.com' }, { aud })}`);
  assert.deepEqual([alice.email, alice.hostedDomain, alice.sub], ['alice@example.com', null, '1234567890']);
  const bob = await v.verify(`Bearer ${await mint({ email: 'bob@corp.example', hd: 'corp.example' }, { aud })}`);
  assert.equal(bob.hostedDomain, 'corp.example');
  // An address in the domain without Google's hd claim is a consumer account on that address: refused.
  await assert.rejects(
    v.verify(`Bearer ${await mint({ email: 'mallory@corp.example' }, { aud })}`),
    refused(403, 'not_allowed'),
  );
  await assert.rejects(
    v.verify(`Bearer ${await mint({ email: 'alice@example.com', email_verified: false }, { aud })}`),
    refused(403, 'email_not_verified'),
  );
  await assert.rejects(
    v.verify(`Bearer ${await mint({ email: 'alice@example.com' }, { aud: 'another-client' })}`),
    refused(403, 'wrong_audience'),
  );
  await assert.rejects(v.verify(undefined), refused(401));
  assert.throws(() => createGoogleIdTokenVerifier({ audience: aud, jwksUrl }), /allowedEmails or allowedDomains/);
});
