// PostgreSQL 15 and Redis for the tests, each a throwaway server on a free loopback port in its own temp dir,
// run in the foreground so the PID is ours (test/support/services.ts is the entry point tests import).
import { execFile } from 'node:child_process';
import { chownSync, existsSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ServiceUnavailableError,
  freePort,
  makeStop,
  requireFile,
  spawnService,
  tail,
  tcpOpen,
  tempDir,
  type ServiceHandle,
} from './service-process.ts';

const execFileP = promisify(execFile);

export const PG_BIN = process.env.HTBASE_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PostgresHandle extends ServiceHandle {
  readonly databaseUrl: string;
}
export interface RedisHandle extends ServiceHandle {
  readonly url: string;
}
// ---------------------------------------------------------------- PostgreSQL
/** PostgreSQL 15 on a throwaway cluster (trust auth, no fsync). Runs as `postgres` when we are root. */
export async function startPostgres(opts: { database?: string } = {}): Promise<PostgresHandle> {
  requireFile(
    join(PG_BIN, 'postgres'),
    'PostgreSQL 15',
    'Install it with `apt-get install -y postgresql-15` or set HTBASE_PG_BIN.',
  );
  const dir = tempDir('pg');
  const data = join(dir, 'data');
  let uid: number | undefined;
  let gid: number | undefined;
  // Postgres refuses to run as root: hand the directory to the postgres user and run as it.
  if (process.getuid?.() === 0) {
    const { stdout } = await execFileP('id', ['-u', 'postgres']).catch(() => {
      throw new ServiceUnavailableError('running as root but there is no `postgres` user to run PostgreSQL as');
    });
    uid = Number(stdout.trim());
    gid = Number((await execFileP('id', ['-g', 'postgres'])).stdout.trim());
    chownSync(dir, uid, gid);
  }
  await execFileP(
    join(PG_BIN, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'],
    { uid, gid, timeout: 60_000, env: { ...process.env, HOME: dir } },
  ).catch((err) => {
    rmSync(dir, { recursive: true, force: true });
    throw new ServiceUnavailableError(`initdb failed: ${err.stderr || err.message}`);
  });
  const log = join(dir, 'server.log');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      // Run the postmaster itself (not pg_ctl) so we own its PID and see it exit.
      const child = await spawnService({
        name: 'postgres',
        cmd: join(PG_BIN, 'postgres'),
        args: [
          '-D',
          data,
          '-p',
          String(port),
          '-k',
          dir,
          '-c',
          'listen_addresses=127.0.0.1',
          '-c',
          'fsync=off',
          '-c',
          'synchronous_commit=off',
          '-c',
          'full_page_writes=off',
          '-c',
          'max_connections=200',
        ],
        dir,
        log,
        uid,
        gid,
        ready: () => tcpOpen(port).then((open) => open && pgReady(port, dir)),
        readyTimeoutMs: 30_000,
      });
      const db = opts.database ?? 'htbase';
      if (db !== 'postgres') {
        await execFileP(join(PG_BIN, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', db], {
          timeout: 30_000,
        });
      }
      const databaseUrl = `postgres://postgres@127.0.0.1:${port}/${db}`;
      return {
        name: 'postgres',
        host: '127.0.0.1',
        port,
        dir,
        pid: child.pid!,
        databaseUrl,
        env: { DATABASE_URL: databaseUrl },
        // SIGINT is Postgres's "fast shutdown": roll back open transactions, close, exit.
        stop: makeStop(child, dir, 'SIGINT', 10_000),
      };
    } catch (err) {
      if (attempt < 2 && /could not bind|Address already in use/.test(tail(log))) continue;
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
}

async function pgReady(port: number, dir: string): Promise<boolean> {
  if (!existsSync(join(PG_BIN, 'pg_isready'))) return true;
  try {
    await execFileP(join(PG_BIN, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'], {
      timeout: 2000,
      cwd: dir,
    });
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- Redis
function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.setTimeout(500);
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => (s.destroy(), resolve(d.toString().startsWith('+PONG'))));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });
}

export function findRedisServer(): string | null {
  for (const p of [process.env.HTBASE_REDIS_SERVER, '/usr/bin/redis-server', '/usr/local/bin/redis-server']) {
    if (p && existsSync(p)) return p;
  }
  return null;
}

/** redis-server without persistence, in the foreground so its PID is ours. */
export async function startRedis(): Promise<RedisHandle> {
  const bin = findRedisServer();
  if (!bin)
    throw new ServiceUnavailableError(
      'redis-server not found. Install it with `apt-get install -y redis-server` (or set HTBASE_REDIS_SERVER).',
    );
  const dir = tempDir('redis');
  const log = join(dir, 'redis.log');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      const child = await spawnService({
        name: 'redis',
        cmd: bin,
        args: [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
          '--daemonize',
          'no',
        ],
        dir,
        log,
        ready: () => redisPing(port),
        readyTimeoutMs: 15_000,
      });
      const url = `redis://127.0.0.1:${port}`;
      return {
        name: 'redis',
        host: '127.0.0.1',
        port,
        dir,
        pid: child.pid!,
        url,
        env: { REDIS_URL: url },
        stop: makeStop(child, dir, 'SIGTERM', 5000),
      };
    } catch (err) {
      if (attempt < 2 && /Address already in use/.test(tail(log))) continue;
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
}
