// Redis (Memorystore) coordination shared by every instance: a sliding-window RateLimiter and a per-host
// HostLimiter whose slots are leases, so a crashed worker cannot leak one.
// Every script reads Redis's own clock (TIME), so instances with skewed clocks still agree.
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { HostLimiter, RateLimiter } from '../core/ports.ts';
import { silentLogger, type Logger } from '../core/logger.ts';

/** A client with bounded connects and commands: a Redis outage fails calls instead of hanging them. */
export function connectRedis(url: string, opts: RedisOptions = {}): Redis {
  return new Redis(url, {
    connectTimeout: 5000,
    commandTimeout: 3000,
    maxRetriesPerRequest: 2,
    enableAutoPipelining: true,
    ...opts,
  });
}

const NOW_MS = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const SCRIPTS = {
  // KEYS[1] log; ARGV limit, windowMs, unique member suffix. Returns {allowed, retryAfterMs}.
  htbRateHit: {
    numberOfKeys: 1,
    lua: `${NOW_MS}
local limit = tonumber(ARGV[1]) local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}`,
  },
  // KEYS[1] lease set (member token, score expiry); ARGV max, leaseMs, token. Returns 1 when a slot was taken.
  htbSlotAcquire: {
    numberOfKeys: 1,
    lua: `${NOW_MS}
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], lease)
  return 1
end
return 0`,
  },
  // KEYS[1] lease set; ARGV leaseMs, token. Extends a lease we still hold; 0 when it was lost.
  htbSlotRenew: {
    numberOfKeys: 1,
    lua: `${NOW_MS}
local lease = tonumber(ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('ZADD', KEYS[1], 'XX', now + lease, ARGV[2])
  redis.call('PEXPIRE', KEYS[1], lease)
  return 1
end
return 0`,
  },
} as const;

type ScriptName = keyof typeof SCRIPTS;
type Scripted = Redis & Record<ScriptName, (...args: Array<string | number>) => Promise<unknown>>;

/** Registers our scripts on the client once; ioredis runs them by EVALSHA and falls back to EVAL. */
function scripted(redis: Redis): Scripted {
  for (const [name, def] of Object.entries(SCRIPTS)) {
    if (typeof (redis as unknown as Record<string, unknown>)[name] !== 'function') redis.defineCommand(name, def);
  }
  return redis as Scripted;
}

export interface RedisCoordinationOptions {
  /** Namespace for every key. Default 'htb:'. */
  keyPrefix?: string;
}

export function createRedisRateLimiter(redis: Redis, opts: RedisCoordinationOptions = {}): RateLimiter {
  const r = scripted(redis);
  const prefix = `${opts.keyPrefix ?? 'htb:'}rl:`;
  return {
    async hit(key, limit, windowSeconds) {
      const [allowed, retryMs] = (await r.htbRateHit(
        prefix + key,
        limit,
        Math.round(windowSeconds * 1000),
        randomUUID(),
      )) as [number, number];
      return allowed === 1
        ? { allowed: true, retryAfterSeconds: 0 }
        : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(retryMs / 1000)) };
    },
  };
}

export interface RedisHostLimiterOptions extends RedisCoordinationOptions {
  maxPerHost: number;
  /** How long a slot outlives its holder's last heartbeat (a crashed worker's slot frees after this). Default 30 s. */
  leaseMs?: number;
  /** Waiting polls between these bounds, backing off with jitter. Defaults 50 ms and 1 s. */
  pollMinMs?: number;
  pollMaxMs?: number;
  logger?: Logger;
}

/**
 * A counting semaphore per host in a sorted set of leases. A holder renews its lease every third of
 * `leaseMs` until it releases; if its process dies the lease simply runs out. Waiters poll (no FIFO order).
 */
export function createRedisHostLimiter(redis: Redis, opts: RedisHostLimiterOptions): HostLimiter {
  if (!(opts.maxPerHost >= 1)) throw new RangeError('maxPerHost must be at least 1');
  const r = scripted(redis);
  const prefix = `${opts.keyPrefix ?? 'htb:'}host:`;
  const leaseMs = opts.leaseMs ?? 30_000;
  const pollMin = opts.pollMinMs ?? 50;
  const pollMax = opts.pollMaxMs ?? 1000;
  const log = (opts.logger ?? silentLogger()).child({ component: 'host-limiter' });

  return {
    async acquire(rawHost, signal) {
      const key = prefix + rawHost.toLowerCase();
      const token = randomUUID();
      for (let attempt = 0; ; attempt++) {
        signal?.throwIfAborted();
        if ((await r.htbSlotAcquire(key, opts.maxPerHost, leaseMs, token)) === 1) break;
        const delay = Math.min(pollMax, pollMin * 1.5 ** attempt) * (0.5 + Math.random() / 2);
        await abortableSleep(delay, signal);
      }
      const heartbeat = setInterval(
        () => {
          r.htbSlotRenew(key, leaseMs, token).then(
            (ok) => {
              if (ok !== 1) log.warn({ host: rawHost }, 'host slot lease lost before release');
            },
            (err: unknown) => log.warn({ err, host: rawHost }, 'host slot lease renewal failed'),
          );
        },
        Math.max(100, Math.floor(leaseMs / 3)),
      );
      heartbeat.unref();
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        clearInterval(heartbeat);
        await r.zrem(key, token);
      };
    },
  };
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
