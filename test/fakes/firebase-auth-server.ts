// FAKE: stands in for the Firebase Auth emulator (Identity Toolkit `accounts:signInWithIdp` / `accounts:lookup` and
// securetoken `v1/token`, under the emulator's /<host>/<path> layout), which cannot run here, for the real firebase/auth
// SDK pointed at it with connectAuthEmulator(). Like the emulator it mints unsigned (`alg: none`) ID tokens.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeFirebaseAuth {
  /** http://127.0.0.1:port: what connectAuthEmulator and FIREBASE_AUTH_EMULATOR_HOST (without http://) take. */
  url: string;
  host: string;
  /** The uid this fake gives the account of an email (stable, as the emulator's is for one account). */
  uidFor(email: string): string;
  /** Every ID token minted so far, in order (sign-ins and refreshes). */
  minted: string[];
  counts: { signIns: number; refreshes: number; lookups: number };
  /** Ends an account's sessions, as disabling it or revoking its tokens does: refreshes answer TOKEN_EXPIRED. */
  revoke(email: string): void;
  close(): Promise<void>;
}

interface Account {
  uid: string;
  email: string;
  sub: string;
  createdAt: number;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export async function startFakeFirebaseAuth(opts: {
  projectId: string;
  /** Seconds an ID token lives: short in tests, so the SDK's refresh before expiry is exercised. */
  tokenLifetimeSeconds?: number;
}): Promise<FakeFirebaseAuth> {
  const lifetime = opts.tokenLifetimeSeconds ?? 3600;
  const accounts = new Map<string, Account>();
  const refreshTokens = new Map<string, Account>();
  const minted: string[] = [];
  const revoked = new Set<string>();
  const counts = { signIns: 0, refreshes: 0, lookups: 0 };
  const uidFor = (email: string) => `uid${createHash('sha256').update(email).digest('hex').slice(0, 24)}`;

  const idToken = (a: Account) => {
    const now = Math.floor(Date.now() / 1000);
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({
      iss: `https://securetoken.google.com/${opts.projectId}`,
      aud: opts.projectId,
      auth_time: now,
      user_id: a.uid,
      sub: a.uid,
      iat: now,
      exp: now + lifetime,
      email: a.email,
      email_verified: true,
      firebase: { identities: { 'google.com': [a.sub], email: [a.email] }, sign_in_provider: 'google.com' },
    })}.`;
    minted.push(token);
    return token;
  };
  const newRefreshToken = (a: Account) => {
    const t = randomBytes(24).toString('base64url');
    refreshTokens.set(t, a);
    return t;
  };
  const userInfo = (a: Account) => ({
    localId: a.uid,
    email: a.email,
    emailVerified: true,
    providerUserInfo: [
      { providerId: 'google.com', rawId: a.sub, federatedId: a.sub, email: a.email, displayName: a.email },
    ],
    validSince: String(Math.floor(a.createdAt / 1000)),
    lastLoginAt: String(Date.now()),
    createdAt: String(a.createdAt),
  });
  const accountOfToken = (token: unknown): Account | undefined => {
    try {
      const claims = JSON.parse(Buffer.from(String(token).split('.')[1] ?? '', 'base64url').toString()) as {
        sub?: string;
        exp?: number;
      };
      if (!claims.exp || claims.exp * 1000 < Date.now()) return undefined;
      return [...accounts.values()].find((a) => a.uid === claims.sub);
    } catch {
      return undefined;
    }
  };

  const routes: Record<string, (body: string) => [number, unknown]> = {
    '/identitytoolkit.googleapis.com/v1/accounts:signInWithIdp': (raw) => {
      const body = JSON.parse(raw) as { postBody?: string };
      const post = new URLSearchParams(body.postBody ?? '');
      // The emulator takes the Google id_token as plain JSON claims (or an unsigned JWT's payload).
      let claims: { sub?: string; email?: string } = {};
      try {
        const t = post.get('id_token') ?? '';
        claims = JSON.parse(t.startsWith('{') ? t : Buffer.from(t.split('.')[1] ?? '', 'base64url').toString());
      } catch {
        return [400, fail('INVALID_IDP_RESPONSE : id_token is neither JSON nor a JWT')];
      }
      if (post.get('providerId') !== 'google.com') return [400, fail('INVALID_PROVIDER_ID')];
      const email = String(claims.email ?? '').toLowerCase();
      if (!claims.sub || !email) return [400, fail('INVALID_IDP_RESPONSE : sub and email are required')];
      revoked.delete(email); // a new sign-in starts a new session
      const isNewUser = !accounts.has(email);
      if (isNewUser) accounts.set(email, { uid: uidFor(email), email, sub: claims.sub, createdAt: Date.now() });
      const a = accounts.get(email)!;
      counts.signIns++;
      return [
        200,
        {
          kind: 'identitytoolkit#VerifyAssertionResponse',
          providerId: 'google.com',
          federatedId: `https://accounts.google.com/${a.sub}`,
          localId: a.uid,
          email: a.email,
          emailVerified: true,
          displayName: a.email,
          idToken: idToken(a),
          refreshToken: newRefreshToken(a),
          expiresIn: String(lifetime),
          isNewUser,
          rawUserInfo: JSON.stringify({ sub: a.sub, email: a.email, email_verified: true }),
        },
      ];
    },
    '/identitytoolkit.googleapis.com/v1/accounts:lookup': (raw) => {
      const a = accountOfToken((JSON.parse(raw) as { idToken?: string }).idToken);
      if (!a) return [400, fail('INVALID_ID_TOKEN')];
      counts.lookups++;
      return [200, { kind: 'identitytoolkit#GetAccountInfoResponse', users: [userInfo(a)] }];
    },
    '/securetoken.googleapis.com/v1/token': (raw) => {
      const form = new URLSearchParams(raw);
      const a = refreshTokens.get(form.get('refresh_token') ?? '');
      if (form.get('grant_type') !== 'refresh_token' || !a) return [400, fail('INVALID_REFRESH_TOKEN')];
      if (revoked.has(a.email)) return [400, fail('TOKEN_EXPIRED')];
      counts.refreshes++;
      const token = idToken(a);
      return [
        200,
        {
          access_token: token,
          id_token: token,
          expires_in: String(lifetime),
          token_type: 'Bearer',
          refresh_token: newRefreshToken(a),
          user_id: a.uid,
          project_id: opts.projectId,
        },
      ];
    },
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    // The app's origin differs from the emulator's: the SDK's fetches are CORS requests, as with the real one.
    res.setHeader('Access-Control-Allow-Origin', req.headers.origin ?? '*');
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] ?? 'content-type');
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const route = routes[path];
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let status = 404;
      let body: unknown = fail(`no such endpoint ${path}`);
      if (route && req.method === 'POST') {
        try {
          [status, body] = route(Buffer.concat(chunks).toString());
        } catch {
          [status, body] = [400, fail('INVALID_JSON')];
        }
      }
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `http://${host}`,
    host,
    uidFor,
    minted,
    counts,
    revoke: (email) => void revoked.add(email.toLowerCase()),
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Identity Toolkit's error shape, which the SDK maps to auth/* codes. */
const fail = (message: string) => ({ error: { code: 400, message, errors: [{ message, reason: 'invalid' }] } });
