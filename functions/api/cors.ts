// CORS for the API: only the app's own origin (PUBLIC_URL), ALLOWED_ORIGINS and the browser extension's origins
// (ALLOWED_EXTENSION_IDS) get CORS headers; a preflight from them is answered before auth, any other origin gets none.
import type { NextFunction, Request, Response } from 'express';

/** `chrome-extension://<id>` for a Chrome id (32 letters a-p), `moz-extension://<uuid>` for a Firefox install. */
export function extensionOrigins(ids: string[]): string[] {
  return ids.flatMap((raw) => {
    const id = raw.trim().toLowerCase();
    if (/^[a-p]{32}$/.test(id)) return [`chrome-extension://${id}`];
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) return [`moz-extension://${id}`];
    if (/^(chrome|moz)-extension:\/\/[0-9a-z-]+$/.test(id)) return [id];
    throw new Error(
      `ALLOWED_EXTENSION_IDS: ${JSON.stringify(raw)} is neither a Chrome extension id nor a Firefox UUID`,
    );
  });
}

const ALLOW_HEADERS = 'Authorization, Content-Type, Accept, Idempotency-Key';
const EXPOSE_HEADERS = 'Location, Retry-After, WWW-Authenticate';

export function cors(allowed: string[]) {
  const origins = new Set(allowed.map((o) => o.replace(/\/+$/, '').toLowerCase()));
  return (req: Request, res: Response, next: NextFunction): void => {
    res.vary('Origin');
    const origin = req.headers.origin?.toLowerCase();
    if (!origin || !origins.has(origin)) return next();
    res.setHeader('Access-Control-Allow-Origin', req.headers.origin!);
    res.setHeader('Access-Control-Expose-Headers', EXPOSE_HEADERS);
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, DELETE');
      res.setHeader('Access-Control-Allow-Headers', ALLOW_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}
