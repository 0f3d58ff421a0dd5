// Bounds request bodies before the Functions Framework reads them. The framework's own body parsers run ahead of
// any code of ours and accept up to 1 GB (its server.js: requestLimit '1024mb', with no option to change it), so
// the check runs on Node's `http.server.request.start` diagnostics channel, published before 'request' listeners.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Problem } from '../../shared/core/errors.ts';
import { badRequest, problemType } from './problems.ts';

const CHANNEL = 'http.server.request.start';
const REFUSED = Symbol('htbase.bodyRefused');
type Marked = IncomingMessage & { [REFUSED]?: Problem };

/** Why a request's body is refused from its headers alone, or undefined when it may be read. */
export function bodyRefusal(
  headers: IncomingMessage['headers'],
  limit: number,
  overLimit: (limit: number) => Problem = tooBig,
): Problem | undefined {
  const length = headers['content-length'];
  if (length !== undefined) return Number(length) > limit ? overLimit(limit) : undefined;
  // A chunked body's size is known only once it has been read, which is what must not happen.
  if (headers['transfer-encoding'] !== undefined) {
    return new Problem(411, problemType('length-required'), 'Length required', 'send the body with a Content-Length');
  }
  return undefined;
}

const tooBig = (limit: number) => badRequest('body-too-large', `the request body is larger than ${limit} bytes`);

/**
 * Marks every incoming request whose body would exceed `limitFor(req)` and hides its body from the parsers
 * (they read only bodies their headers announce); `refused(req)` then answers it. Returns the uninstaller.
 */
export function limitBodies(
  limitFor: (req: IncomingMessage) => number,
  overLimit?: (req: IncomingMessage, limit: number) => Problem,
): () => void {
  const onStart = (message: unknown) => {
    const req = (message as { request: Marked }).request;
    const problem = bodyRefusal(req.headers, limitFor(req), overLimit && ((limit) => overLimit(req, limit)));
    if (!problem) return;
    req[REFUSED] = problem;
    delete req.headers['content-length'];
    delete req.headers['transfer-encoding'];
  };
  subscribe(CHANNEL, onStart);
  return () => unsubscribe(CHANNEL, onStart);
}

/**
 * Answers a request limitBodies marked, and closes its connection so the unread bytes are dropped rather than
 * read; true when it did. Plain Node response calls: it runs before any Express of ours.
 */
export function refused(req: IncomingMessage, res: ServerResponse): boolean {
  const p = (req as Marked)[REFUSED];
  if (!p) return false;
  res.writeHead(p.status, { 'content-type': 'application/problem+json', connection: 'close' });
  res.end(JSON.stringify({ type: p.type, title: p.title, status: p.status, detail: p.detail }));
  return true;
}
