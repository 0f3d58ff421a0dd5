// What keeps a web page the person visits from driving the server: the Host must be one the server answers to
// (no DNS rebinding), writes must be JSON (or multipart where a route takes files, so a cross-site form cannot
// send one without a CORS preflight), and a request from a foreign Origin is refused before anything runs.
import type { NextFunction, Request, Response } from 'express';
import { Problem } from '../../shared/core/errors.ts';
import { problemType, sendProblem } from './problems.ts';

export const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

export interface RequestGuardOptions {
  /** Host names (no port) the server answers to; empty: any (a cloud function behind Google's front end). */
  allowedHosts: string[];
  /** Origins (scheme://host[:port]) allowed besides the server's own, e.g. the browser extension's. */
  allowedOrigins: string[];
  /** Routes that take files: only these accept multipart/form-data (a type a cross-site form can send). */
  multipartPaths?: RegExp[];
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The host name of a Host header without its port, lower-cased (`[::1]:8080` -> `[::1]`). */
export function hostName(header: string | undefined): string {
  const h = (header ?? '').trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon >= 0 ? h.slice(0, colon) : h;
}

/** The allowed Host names for a server: the loopback names, plus the host of PUBLIC_URL and any named ones. */
export function allowedHostsFor(opts: { publicUrl?: string; extra?: string[]; loopback: boolean }): string[] {
  const hosts = new Set(opts.loopback ? LOOPBACK_HOSTS : []);
  if (opts.publicUrl) hosts.add(new URL(opts.publicUrl).hostname.toLowerCase());
  for (const h of opts.extra ?? []) if (h.trim()) hosts.add(h.trim().toLowerCase());
  return [...hosts];
}

export function requestGuards(opts: RequestGuardOptions) {
  const hosts = new Set(opts.allowedHosts.map((h) => h.toLowerCase()));
  const origins = new Set(opts.allowedOrigins.map((o) => o.replace(/\/+$/, '').toLowerCase()));
  return (req: Request, res: Response, next: NextFunction): void => {
    const host = hostName(req.headers.host);
    if (hosts.size && !hosts.has(host))
      return sendProblem(
        res,
        new Problem(
          421,
          problemType('misdirected-request'),
          'Misdirected request',
          'this server does not answer to that host name',
        ),
      );
    const origin = req.headers.origin?.toLowerCase();
    if (origin && origin !== 'null' && !origins.has(origin)) {
      let own = false;
      try {
        own = new URL(origin).host === (req.headers.host ?? '').toLowerCase();
      } catch {
        own = false;
      }
      if (!own)
        return sendProblem(
          res,
          new Problem(403, problemType('cross-origin'), 'Forbidden', 'requests from another origin are not accepted'),
        );
    } else if (origin === 'null' && WRITE_METHODS.has(req.method)) {
      // A sandboxed frame or a file: page: never a legitimate writer.
      return sendProblem(
        res,
        new Problem(403, problemType('cross-origin'), 'Forbidden', 'requests from an opaque origin are not accepted'),
      );
    }
    if (WRITE_METHODS.has(req.method) && hasBody(req)) {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const multipart = type === 'multipart/form-data' && (opts.multipartPaths ?? []).some((p) => p.test(req.path));
      if (type !== 'application/json' && !multipart)
        return sendProblem(
          res,
          new Problem(
            415,
            problemType('unsupported-media-type'),
            'Unsupported media type',
            'send the request body as application/json',
          ),
        );
    }
    next();
  };
}

function hasBody(req: Request): boolean {
  const len = req.headers['content-length'];
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined;
}
