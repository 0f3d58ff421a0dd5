// HTTP GET through the SSRF guard for the worker's own fetches (the content-type probe): every hop of a
// redirect chain is checked, and the connection goes to the address that was checked (pinned lookup).
import { Agent, request, type Dispatcher } from 'undici';
import type { Readable } from 'node:stream';
import { checkUrl, guardedLookup, type GuardOptions } from './ssrf.ts';
import { PermanentError } from '../core/errors.ts';

export interface GuardedResponse {
  finalUrl: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable & { dump?: () => Promise<void> };
  /** Discards the rest of the body and frees the connection. */
  discard(): Promise<void>;
}

export interface GuardedFetchOptions {
  guard: GuardOptions;
  headers?: Record<string, string>;
  maxRedirects?: number;
  /** Time to the response headers, per hop. */
  headersTimeoutMs?: number;
  /** Silence between body chunks. */
  bodyTimeoutMs?: number;
  signal?: AbortSignal;
}

const agents = new WeakMap<GuardOptions, Dispatcher>();
function agentFor(guard: GuardOptions): Dispatcher {
  let a = agents.get(guard);
  if (!a) {
    a = new Agent({ connect: { lookup: guardedLookup(guard) as never, timeout: 10_000 }, connections: 16 });
    agents.set(guard, a);
  }
  return a;
}

export async function guardedGet(url: string, opts: GuardedFetchOptions): Promise<GuardedResponse> {
  let current = url;
  for (let hop = 0; hop <= (opts.maxRedirects ?? 10); hop++) {
    await checkUrl(current, opts.guard);
    const res = await request(current, {
      method: 'GET',
      headers: opts.headers,
      dispatcher: agentFor(opts.guard),
      headersTimeout: opts.headersTimeoutMs ?? 15_000,
      bodyTimeout: opts.bodyTimeoutMs ?? 30_000,
      signal: opts.signal,
    });
    const location = res.headers.location;
    if (res.statusCode >= 300 && res.statusCode < 400 && typeof location === 'string') {
      await res.body.dump();
      current = new URL(location, current).href;
      continue;
    }
    return {
      finalUrl: current,
      status: res.statusCode,
      headers: res.headers,
      body: res.body as unknown as GuardedResponse['body'],
      discard: async () => {
        await res.body.dump({ limit: 0 }).catch(() => undefined);
      },
    };
  }
  throw new PermanentError('too_many_redirects', `more than ${opts.maxRedirects ?? 10} redirects`);
}
