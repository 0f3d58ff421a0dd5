// Database connection budget: every deployable's Postgres pool (DB_POOL_SIZE) sized so that all instances of
// all deployables at their maximum scale stay within the Cloud SQL tier's max_connections, with room kept for
// migrations, the CLI and Google's own superuser connections. config.ts refuses a stack that cannot fit.
import type { StackConfig } from './config.ts';

/** The deployables that open a pool, and the pool each would like per instance when connections are plentiful. */
export const WANTED_POOL = {
  api: 5, // 40 concurrent requests per instance, most of them short queries
  browser: 4,
  monolith: 4,
  summarize: 4,
  'summary-task': 4,
  sync: 3,
  sweep: 2,
} as const;
export type DbClient = keyof typeof WANTED_POOL;

/** Connections never handed to a pool: Cloud SQL's superuser_reserved_connections (3) plus 2 for admin work. */
export const RESERVED_CONNECTIONS = 5;

/**
 * max_connections Cloud SQL for PostgreSQL sets by default for a tier, by its memory (Google's table
 * "Maximum concurrent connections"): shared-core tiers by name, custom tiers `db-custom-CPUS-MEMORY_MB`.
 */
export function tierMaxConnections(tier: string): number | undefined {
  if (tier === 'db-f1-micro') return 25;
  if (tier === 'db-g1-small') return 50;
  const m = /^db-custom-\d+-(\d+)$/.exec(tier);
  if (!m) return undefined;
  const gb = Number(m[1]) / 1024;
  const steps: Array<[number, number]> = [
    [120, 1000],
    [60, 800],
    [30, 600],
    [15, 500],
    [7.5, 400],
    [6, 200],
    [3.75, 100],
  ];
  return steps.find(([atLeast]) => gb >= atLeast)?.[1] ?? 50;
}

/** Instances each deployable can scale to, from the stack config. */
export function maxInstancesOf(cfg: Pick<StackConfig, 'api' | 'browser' | 'monolith' | 'functions'>) {
  return {
    api: cfg.api.maxInstances,
    browser: cfg.browser.maxInstances,
    monolith: cfg.monolith.maxInstances,
    summarize: cfg.functions.summarize,
    'summary-task': cfg.functions.summaryTask,
    sync: cfg.functions.sync,
    sweep: cfg.functions.sweep,
  } satisfies Record<DbClient, number>;
}

export interface PoolPlan {
  maxConnections: number;
  /** What the pools (and the API's LISTEN connections) may use: maxConnections - RESERVED_CONNECTIONS. */
  budget: number;
  sizes: Record<DbClient, number>;
  /**
   * Whether the API keeps verified keys in memory (API_KEY_CACHE). The cache hears revocations on a LISTEN
   * connection of its own, outside the pool, one per API instance: it is on only when the budget has room for
   * those after one pooled connection per instance, and then they are counted before the pools grow.
   */
  apiKeyCache: boolean;
  /** Connections open if every deployable runs at its maximum with a full pool (and the API its LISTEN). */
  total: number;
}

/**
 * Every instance gets one connection; what is left of the budget is shared out in proportion to what each
 * deployable would like beyond its first (so a bigger tier grows every pool together, up to WANTED_POOL).
 * Throws a plain Error with the arithmetic when even one connection per instance does not fit.
 */
export function planPools(cfg: Pick<StackConfig, 'database' | 'api' | 'browser' | 'monolith' | 'functions'>): PoolPlan {
  const maxConnections = cfg.database.maxConnections ?? tierMaxConnections(cfg.database.tier);
  if (maxConnections === undefined) {
    throw new Error(
      `database.tier "${cfg.database.tier}" has no known max_connections: set database.maxConnections to its value`,
    );
  }
  const budget = maxConnections - RESERVED_CONNECTIONS;
  const n = maxInstancesOf(cfg);
  const keys = Object.keys(WANTED_POOL) as DbClient[];
  const instances = keys.reduce((s, k) => s + n[k], 0);
  if (instances > budget) {
    throw new Error(
      `database: ${instances} instances at maximum scale need at least ${instances + RESERVED_CONNECTIONS} ` +
        `connections, but tier ${cfg.database.tier} allows ${maxConnections} (${RESERVED_CONNECTIONS} reserved): ` +
        'choose a bigger database.tier or lower the maxInstances of api, browser, monolith or functions',
    );
  }
  const apiKeyCache = budget - instances >= n.api;
  const listeners = apiKeyCache ? n.api : 0;
  const extraWanted = keys.reduce((s, k) => s + n[k] * (WANTED_POOL[k] - 1), 0);
  const share = extraWanted === 0 ? 0 : Math.min(1, (budget - instances - listeners) / extraWanted);
  const sizes = Object.fromEntries(keys.map((k) => [k, 1 + Math.floor((WANTED_POOL[k] - 1) * share)])) as Record<
    DbClient,
    number
  >;
  const total = keys.reduce((s, k) => s + n[k] * sizes[k], listeners);
  return { maxConnections, budget, sizes, apiKeyCache, total };
}
