// The owner's cookies handed to monolith as its -C cookies.txt: written 0600 in a private temp directory for the
// run only and removed afterwards whatever happens (the values never reach a log or an artifact).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SiteCookie } from '../../shared/cookies/types.ts';
import { toNetscape } from '../../shared/cookies/parse.ts';

export async function withCookieFile<T>(
  cookies: SiteCookie[] | undefined,
  fn: (path: string | undefined) => Promise<T>,
): Promise<T> {
  if (!cookies?.length) return fn(undefined);
  const dir = await mkdtemp(join(tmpdir(), 'htbase-cookies-'));
  try {
    const path = join(dir, 'cookies.txt');
    await writeFile(path, toNetscape(cookies), { mode: 0o600 });
    return await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
