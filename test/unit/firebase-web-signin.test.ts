// The server side of the web app's Google sign-in, as pure logic: the Firebase emulator's unsigned tokens are
// accepted only with the explicit switch (and still checked for issuer, audience, expiry, uid), the web settings
// the client receives, their configuration rules, and the CSP additions for Firebase's hosts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, UnsecuredJWT, exportJWK, generateKeyPair } from 'jose';
import { createFirebaseIdTokenVerifier } from '../../shared/auth/firebase-id-token.ts';
import { AuthError } from '../../shared/auth/jwt.ts';
import { CloudApiConfig, firebaseWebSettings } from '../../functions/api/config.ts';
import { APP_CSP, appCsp } from '../../functions/api/web/serve.ts';

const PROJECT = 'htbase-emu';
const unsigned = (claims: Record<string, unknown>, exp: string | number = '10m') =>
  `Bearer ${new UnsecuredJWT({ iss: `https://securetoken.google.com/${PROJECT}`, aud: PROJECT, ...claims })
    .setIssuedAt()
    .setExpirationTime(exp)
    .encode()}`;
const failure = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: unknown) => (e instanceof AuthError ? `${e.status} ${e.code}` : `unexpected ${String(e)}`),
  );

test('an emulator token is refused unless the emulator switch is on', async () => {
  const { publicKey } = await generateKeyPair('RS256');
  const keys = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' }] };
  const production = createFirebaseIdTokenVerifier({ projectId: PROJECT, keys });
  assert.match(await failure(production.verify(unsigned({ sub: 'uid-1' }))), /^401 /);
  const emulator = createFirebaseIdTokenVerifier({ projectId: PROJECT, keys, emulator: true });
  assert.deepEqual(await emulator.verify(unsigned({ sub: 'uid-1', email: 'A@Example.org', email_verified: true })), {
    uid: 'uid-1',
    email: 'a@example.org',
  });
});

test('with the switch on, issuer, audience, expiry and uid are still checked', async () => {
  const v = createFirebaseIdTokenVerifier({ projectId: PROJECT, emulator: true, keys: { keys: [] } });
  assert.equal(await failure(v.verify(unsigned({ sub: 'u', aud: 'another-project' }))), '403 wrong_audience');
  assert.equal(
    await failure(v.verify(unsigned({ sub: 'u', iss: 'https://securetoken.google.com/other' }))),
    '401 invalid_iss',
  );
  assert.equal(
    await failure(v.verify(unsigned({ sub: 'u' }, Math.floor(Date.now() / 1000) - 3600))),
    '401 token_expired',
  );
  assert.equal(await failure(v.verify(unsigned({}))), '401 invalid_sub');
  assert.equal(await failure(v.verify(unsigned({ sub: 'u', email: 'x@example.org' }))), 'accepted');
  // An unverified email is not passed on: it could be anyone's.
  assert.deepEqual(await v.verify(unsigned({ sub: 'u', email: 'x@example.org', email_verified: false })), {
    uid: 'u',
    email: null,
  });
  // A signed token is not an emulator token.
  const { privateKey } = await generateKeyPair('RS256');
  const signed = await new SignJWT({ sub: 'u' })
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuer(`https://securetoken.google.com/${PROJECT}`)
    .setAudience(PROJECT)
    .setExpirationTime('5m')
    .sign(privateKey);
  assert.match(await failure(v.verify(`Bearer ${signed}`)), /^401 /);
});

test('the web settings: absent without a web API key, the auth domain defaulted, the emulator as an origin', () => {
  assert.equal(firebaseWebSettings({ FIREBASE_PROJECT_ID: PROJECT }), null);
  assert.equal(firebaseWebSettings({ FIREBASE_WEB_API_KEY: 'k' }), null);
  assert.deepEqual(firebaseWebSettings({ FIREBASE_WEB_API_KEY: 'k', FIREBASE_PROJECT_ID: PROJECT }), {
    apiKey: 'k',
    authDomain: `${PROJECT}.firebaseapp.com`,
    projectId: PROJECT,
    emulatorUrl: null,
  });
  assert.deepEqual(
    firebaseWebSettings({
      FIREBASE_WEB_API_KEY: 'k',
      FIREBASE_PROJECT_ID: PROJECT,
      FIREBASE_AUTH_DOMAIN: 'login.example.org',
      FIREBASE_AUTH_EMULATOR_HOST: '127.0.0.1:9099',
    }),
    { apiKey: 'k', authDomain: 'login.example.org', projectId: PROJECT, emulatorUrl: 'http://127.0.0.1:9099' },
  );
});

test('bad Firebase settings are refused at start-up with a sentence naming the variable', () => {
  const issues = (env: Record<string, string>) => {
    const r = CloudApiConfig.safeParse({ API_KEYS_REQUIRED: 'true', ...env });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  assert.ok(
    issues({ FIREBASE_WEB_API_KEY: 'k' }).some((i) => /^FIREBASE_WEB_API_KEY: .*FIREBASE_PROJECT_ID/.test(i)),
    String(issues({ FIREBASE_WEB_API_KEY: 'k' })),
  );
  assert.ok(
    issues({ FIREBASE_AUTH_EMULATOR_HOST: 'http://x' }).some((i) => i.startsWith('FIREBASE_AUTH_EMULATOR_HOST:')),
  );
  assert.ok(issues({ FIREBASE_AUTH_DOMAIN: 'https://a/b' }).some((i) => i.startsWith('FIREBASE_AUTH_DOMAIN:')));
  assert.ok(
    !issues({ FIREBASE_WEB_API_KEY: 'k', FIREBASE_PROJECT_ID: PROJECT }).some((i) => /FIREBASE/.test(i)),
    'a complete setting passes',
  );
});

test('the CSP opens only Firebase Auth’s hosts, and only when sign-in is configured', () => {
  assert.equal(appCsp(null), APP_CSP);
  const csp = appCsp({ apiKey: 'k', authDomain: 'p.firebaseapp.com', projectId: 'p', emulatorUrl: null });
  const d = Object.fromEntries(csp.split('; ').map((x) => [x.slice(0, x.indexOf(' ')), x.slice(x.indexOf(' ') + 1)]));
  assert.equal(d['connect-src'], "'self' https://identitytoolkit.googleapis.com https://securetoken.googleapis.com");
  assert.equal(d['script-src'], "'self' https://apis.google.com");
  assert.equal(d['frame-src'], "'self' blob: https://p.firebaseapp.com");
  // Every other directive is the app's own.
  for (const x of APP_CSP.split('; '))
    if (!/^(connect|script|frame)-src/.test(x)) assert.ok(csp.split('; ').includes(x), x);
});
