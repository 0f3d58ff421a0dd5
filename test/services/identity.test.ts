// The one authenticator (shared/auth/identity.ts) on PGlite, with ID tokens minted here with our own RS256 keys:
// a Firebase uid maps to its user (first sign-in of an allowed email creates a member), Google ID tokens map
// allowed emails to users, and nothing else gets in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { createUser, firstAdmin } from '../../shared/db/users.ts';
import { createAuthenticator, type Authenticator } from '../../shared/auth/identity.ts';
import { createFirebaseIdTokenVerifier } from '../../shared/auth/firebase-id-token.ts';
import { createGoogleIdTokenVerifier } from '../../shared/auth/google-id-token.ts';
import { AuthError } from '../../shared/auth/jwt.ts';

const PROJECT = 'htbase-identity';
let dbh: DatabaseHandle;
let sign: (claims: Record<string, unknown>) => Promise<string>;
let open: Authenticator;
let strict: Authenticator;

before(async () => {
  dbh = await openDatabase({ memory: true });
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  sign = (claims) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
  const keys = { keys: [jwk] };
  const options = {
    db: dbh.db,
    firebase: createFirebaseIdTokenVerifier({ projectId: PROJECT, keys }),
    google: createGoogleIdTokenVerifier({ audience: 'htbase-api', allowedEmails: ['carol@example.org'], keys }),
    firebaseAllowed: ['dana@example.org', 'example.net'],
  };
  strict = createAuthenticator({ ...options, keysRequired: true });
  open = createAuthenticator({ ...options, keysRequired: false });
});
after(() => dbh?.close());

const firebaseToken = (sub: string, email?: string, over: Record<string, unknown> = {}) =>
  sign({
    iss: `https://securetoken.google.com/${PROJECT}`,
    aud: PROJECT,
    sub,
    ...(email ? { email, email_verified: true } : {}),
    ...over,
  });
const status = (p: Promise<unknown>) =>
  p.then(
    () => 200,
    (e) => (e instanceof AuthError ? e.status : 500),
  );

test('a Firebase uid maps to the user it was given to; a first sign-in of an allowed email creates a member', async () => {
  const erin = await createUser(dbh.db, { name: 'erin', firebaseUid: 'uid-erin' });
  const p = await strict(`Bearer ${await firebaseToken('uid-erin')}`);
  assert.deepEqual([p.userId, p.kind, p.scope, p.role], [erin.id, 'firebase', 'write', 'member']);

  const first = await strict(`Bearer ${await firebaseToken('uid-dana', 'Dana@Example.org')}`);
  const again = await strict(`Bearer ${await firebaseToken('uid-dana', 'dana@example.org')}`);
  assert.equal(first.userId, again.userId, 'the same person is the same user');
  const dana = await dbh.db.selectFrom('users').selectAll().where('id', '=', first.userId).executeTakeFirstOrThrow();
  assert.deepEqual([dana.email, dana.firebase_uid, dana.role], ['dana@example.org', 'uid-dana', 'member']);
  const byDomain = await strict(`Bearer ${await firebaseToken('uid-fay', 'fay@example.net')}`);
  assert.notEqual(byDomain.userId, first.userId);
});

test('a Firebase account that is neither a user nor allowed is refused, and so are forged or foreign tokens', async () => {
  assert.equal(await status(strict(`Bearer ${await firebaseToken('uid-mallory', 'mallory@evil.test')}`)), 403);
  assert.equal(await status(strict(`Bearer ${await firebaseToken('uid-nomail')}`)), 403);
  assert.equal(await status(strict(`Bearer ${await firebaseToken('uid-erin', undefined, { aud: 'other' })}`)), 403);
  const unverified = await firebaseToken('uid-x', undefined, { email: 'dana2@example.org', email_verified: false });
  assert.equal(await status(strict(`Bearer ${unverified}`)), 403, 'an unverified email proves nothing');
  const [h, body] = (await firebaseToken('uid-erin')).split('.');
  assert.equal(await status(strict(`Bearer ${h}.${body}.AAAA`)), 401);
  assert.equal(
    await dbh.db.selectFrom('users').select('id').where('email', '=', 'mallory@evil.test').executeTakeFirst(),
    undefined,
    'no user was made for a refused account',
  );
});

test('Google ID tokens map an allowed email to its user; other accounts are refused', async () => {
  const google = (email: string) =>
    sign({ iss: 'https://accounts.google.com', aud: 'htbase-api', sub: `g-${email}`, email, email_verified: true });
  const carol = await strict(`Bearer ${await google('carol@example.org')}`);
  assert.equal(carol.kind, 'google');
  assert.equal((await strict(`Bearer ${await google('carol@example.org')}`)).userId, carol.userId);
  assert.equal(await status(strict(`Bearer ${await google('dave@example.org')}`)), 403);
});

test('without credentials: 401 when keys are required, the first admin on a keyless loopback server', async () => {
  assert.equal(await status(strict(undefined)), 401);
  assert.equal(await status(strict('Basic dXNlcjpwYXNz')), 401);
  const local = await open(undefined);
  assert.deepEqual([local.userId, local.kind, local.role], [(await firstAdmin(dbh.db)).id, 'local', 'admin']);
});
