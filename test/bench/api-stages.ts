// `node --import tsx test/bench/api-stages.ts [-- --seconds 5 --concurrency 16 --main /work/main]`: where a
// POST /archive's time goes, stage by stage, each driven alone at the bench's concurrency against the real parts
// (PostgreSQL 15, Redis, the Pub/Sub emulator); with --main, the same stages of another checkout in the same run.
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { PubSub } from '@google-cloud/pubsub';
import { ensureTopology, createPubSubPublisher } from '../../shared/adapters/pubsub.ts';
import { openDatabase } from '../../shared/db/connect.ts';
import { connectRedis, createRedisRateLimiter } from '../../shared/adapters/redis.ts';
import { createPgRateLimiter } from '../../shared/adapters/pg-rate-limiter.ts';
import { createApiKey, verifyApiKey } from '../../shared/auth/api-keys.ts';
import { createApiKeyCache, listenForRevocations } from '../../shared/auth/key-cache.ts';
import { createArticle } from '../../shared/db/articles.ts';
import { createArticleBatcher } from '../../shared/db/article-batch.ts';
import { checkHost, parseTargetUrl } from '../../shared/net/ssrf.ts';
import { publishJobs } from '../../shared/jobs/publish.ts';
import { announceChange } from '../../shared/jobs/article-changed.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { FORMATS } from '../../shared/core/formats.ts';
import { SubmitBody } from '../../functions/api/schemas.ts';
import { firstAdmin } from '../../shared/db/users.ts';
import { startPostgres, startPubSubEmulator, startRedis, stopAll } from '../support/services.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
    main: { type: 'string' },
  },
});
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
const rows: Array<{ stage: string; ops: number; mean: number; p50: number; p99: number }> = [];

/** `CONCURRENCY` loops calling `op` for SECONDS; ops/s and latency percentiles in ms. */
async function stage(name: string, op: (i: number) => Promise<unknown>): Promise<void> {
  const lat: number[] = [];
  let i = 0;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await op(i++);
        lat.push(performance.now() - t);
      }
    }),
  );
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]!;
  const mean = lat.reduce((a, b) => a + b, 0) / lat.length;
  rows.push({ stage: name, ops: lat.length / SECONDS, mean, p50: pct(50), p99: pct(99) });
  console.log(`  ${name}: ${(lat.length / SECONDS).toFixed(0)}/s, mean ${mean.toFixed(1)} ms`);
}

async function main(): Promise<void> {
  const projectId = 'htbase-stages';
  const [pg, redis, emu] = await Promise.all([startPostgres(), startRedis(), startPubSubEmulator({ projectId })]);
  const db = await openDatabase({ databaseUrl: pg.databaseUrl, maxConnections: 10 });
  const rc = connectRedis(redis.url);
  const pubsub = new PubSub({ projectId, apiEndpoint: emu.emulatorHost });
  const cache = createApiKeyCache();
  const listener = listenForRevocations(pg.databaseUrl, cache);
  try {
    await ensureTopology(pubsub, { pushEndpoints: {} as never });
    await listener.ready;
    const publisher = createPubSubPublisher({ pubsub });
    const owner = (await firstAdmin(db.db)).id;
    const { key } = await createApiKey(db.db, 'stages');
    const redisLimiter = createRedisRateLimiter(rc);
    const pgLimiter = createPgRateLimiter(db.db);
    const guard = { allowPrivateNetworks: false };
    const body = JSON.stringify({ url: 'http://93.184.215.14/x' });
    const input = (i: number, url = `http://93.184.215.14/stage/${randomUUID()}/${i}`) => ({
      id: randomUUID(),
      ownerId: owner,
      url,
      normalizedUrl: url,
      formats: [...FORMATS],
      dedupWindowSeconds: 3600,
      force: false,
      leaseSeconds: 300,
    });
    await stage('baseline: select 1', () => db.db.selectNoFrom((eb) => eb.val(1).as('x')).execute());
    await stage('API key: database read', () => verifyApiKey(db.db, `Bearer ${key}`));
    await stage('API key: from the cache', () => verifyApiKey(db.db, `Bearer ${key}`, new Date(), cache));
    await stage('rate limit: Redis', (i) => redisLimiter.hit(`stages:${i % 16}`, 1e9, 60));
    await stage('rate limit: PostgreSQL', (i) => pgLimiter.hit(`stages:${i % 16}`, 1e9, 60));
    await stage('rate limit: PostgreSQL at 120/min', (i) => pgLimiter.hit(`stages-low:${i}`, 120, 60));
    await stage('JSON + zod + SSRF guard (IP literal)', async () => {
      const parsed = SubmitBody.parse(JSON.parse(body));
      await checkHost(parseTargetUrl(parsed.url).hostname, guard);
    });
    // The article row alone, one autocommit statement: what its indexes (five GIN) and search trigger cost.
    await stage('insert: the article row alone', (i) => {
      const a = input(i);
      return db.db
        .insertInto('articles')
        .values({ id: a.id, url: a.url, normalized_url: a.url, status: 'pending', version: 2, owner_id: owner })
        .execute();
    });
    await stage('insert: createArticle', (i) => createArticle(db.db, input(i)));
    const grouped = createArticleBatcher(db.db);
    await stage('insert: grouped (createArticleBatcher)', (i) => grouped(input(i)));
    if (args.main) {
      const old = (await import(`${args.main}/shared/db/articles.ts`)) as typeof import('../../shared/db/articles.ts');
      await stage(`insert: createArticle of ${args.main}`, (i) => old.createArticle(db.db, input(i)));
    }
    const changes = { publisher, logger: silentLogger() };
    await stage('publish: capture jobs + article-changed', async (i) => {
      const id = randomUUID();
      await Promise.all([
        publishJobs(publisher, id, `http://93.184.215.14/${i}`, FORMATS, 'submit'),
        announceChange(changes, { articleId: id, version: 2 }),
      ]);
    });
    await publisher.close();
  } finally {
    await listener.close();
    rc.disconnect();
    await pubsub.close();
    await db.close();
    await stopAll([pg, redis, emu]);
  }
  console.log(`\napi-stages, ${SECONDS} s per stage, ${CONCURRENCY} at once\n`);
  const head = ['stage', 'ops/s', 'mean ms', 'p50 ms', 'p99 ms'];
  const body = rows.map((r) => [r.stage, r.ops.toFixed(0), r.mean.toFixed(2), r.p50.toFixed(2), r.p99.toFixed(2)]);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c]!.length)));
  for (const line of [head, widths.map((w) => '-'.repeat(w)), ...body])
    console.log(line.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
}

await main();
