// A loopback stand-in for Google's token issuer in tests and `dev:cloud`: an RS256 key whose public half is
// served as a JWKS (point OIDC_JWKS_URL at it), and `mint` for tokens shaped like the OIDC tokens Pub/Sub
// push, Cloud Scheduler and Cloud Tasks attach (iss accounts.google.com, aud, email, email_verified).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

export interface OidcIssuer {
  /** What OIDC_JWKS_URL takes. */
  jwksUrl: string;
  /** A signed token; `aud` and `email` are required, the rest defaults to a valid Google-shaped token. */
  mint(claims: {
    aud: string;
    email: string;
    iss?: string;
    expiresInSeconds?: number;
    emailVerified?: boolean;
  }): Promise<string>;
  /** A token with the same claims signed by a key the JWKS does not publish (same kid): a forged signature. */
  mintForged(claims: { aud: string; email: string }): Promise<string>;
  close(): Promise<void>;
}

export async function startOidcIssuer(): Promise<OidcIssuer> {
  const kid = 'htbase-test-key';
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const forger = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/certs') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;

  const sign = (key: CryptoKey | import('node:crypto').KeyObject, c: Parameters<OidcIssuer['mint']>[0]) =>
    new SignJWT({ email: c.email, email_verified: c.emailVerified ?? true, azp: '1234567890' })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuer(c.iss ?? 'https://accounts.google.com')
      .setAudience(c.aud)
      .setSubject('1234567890')
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + (c.expiresInSeconds ?? 3600))
      .sign(key);

  return {
    jwksUrl: `http://127.0.0.1:${port}/certs`,
    mint: (c) => sign(privateKey, c),
    mintForged: (c) => sign(forger.privateKey, c),
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
