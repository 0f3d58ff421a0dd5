// The monolith binary: where it is (MONOLITH_PATH, else PATH) and which version it is (`monolith -V`,
// bounded, run without a shell in a minimal environment).
import { execFile } from 'node:child_process';
import { access, constants as fsConstants } from 'node:fs/promises';
import { delimiter, dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { PermanentError } from '../../shared/core/errors.ts';
import { parseMonolithVersion } from './version.ts';

/** Runs `monolith -V` (bounded) and parses it; PermanentError('monolith_unavailable') when it cannot. */
export async function monolithVersion(
  binary: string,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<string> {
  const output = await new Promise<string>((resolve, reject) => {
    execFile(
      binary,
      ['-V'],
      {
        timeout: opts.timeoutMs ?? 10_000,
        signal: opts.signal,
        maxBuffer: 64 * 1024,
        env: {
          PATH: [dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(delimiter),
          LANG: 'C.UTF-8',
        },
      },
      (err, stdout, stderr) => {
        if (err) {
          const e = err as NodeJS.ErrnoException & { killed?: boolean };
          const why =
            e.code === 'ENOENT' ? 'not found' : e.killed ? 'timed out' : `failed (${String(e.code ?? e.message)})`;
          reject(
            new PermanentError(
              'monolith_unavailable',
              `\`${binary} -V\` ${why}${stderr ? `: ${String(stderr).trim().slice(0, 200)}` : ''}`,
            ),
          );
          return;
        }
        resolve(`${stdout}\n${stderr}`);
      },
    );
  });
  const version = parseMonolithVersion(output);
  if (!version)
    throw new PermanentError(
      'monolith_unavailable',
      `\`${binary} -V\` printed no monolith version: ${output.trim().slice(0, 200)}`,
    );
  return version;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, fsConstants.X_OK);
    return true;
  } catch {
    return false; // missing or not executable: both mean "not this one"
  }
}

/**
 * Where the monolith binary is: the configured path (MONOLITH_PATH) if given and executable, else the first
 * `monolith` on the search path (pass process.env.PATH from the edge); null if none.
 */
export async function findMonolith(pathOption: string | undefined, searchPath = ''): Promise<string | null> {
  if (pathOption) {
    const p = isAbsolute(pathOption) ? pathOption : resolvePath(pathOption);
    return (await isExecutable(p)) ? p : null;
  }
  for (const dir of searchPath.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'monolith');
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}
