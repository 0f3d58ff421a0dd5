// `npm run bench:s3 [-- --mb 64 --runs 3]`: streamed puts and gets of one large artifact through the S3 store (the
// SigV4-verifying fake on loopback, so this measures the client side: hashing, signing, parts) beside the local-disk
// store in the same run as baseline; throughput and the process's peak RSS growth during the put.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { startS3Fake } from '../fakes/s3-server.ts';
import { createS3BlobStore } from '../../shared/adapters/s3.ts';
import { s3ClientFor } from '../../shared/adapters/s3-config.ts';
import { createLocalBlobStore } from '../../shared/adapters/local-blob-store.ts';
import type { BlobStore } from '../../shared/core/ports.ts';

const { values: args } = parseArgs({
  options: { mb: { type: 'string', default: '64' }, runs: { type: 'string', default: '3' } },
});
const MB = Number(args.mb);
const RUNS = Number(args.runs);
const piece = Buffer.alloc(64 * 1024, 7);

/** MB bytes of unknown length, produced on demand (the source itself holds 64 KiB). */
function source(): Readable {
  let left = MB * 16;
  return new Readable({
    read() {
      this.push(left-- > 0 ? piece : null);
    },
  });
}

interface Row {
  store: string;
  putMBs: number;
  getMBs: number;
  peakRssMiB: number;
}

async function measure(name: string, store: BlobStore): Promise<Row> {
  const puts: number[] = [];
  const gets: number[] = [];
  let peak = 0;
  for (let i = 0; i < RUNS; i++) {
    const base = process.memoryUsage().rss;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss - base)), 20);
    let t = performance.now();
    await store.put(`articles/bench/${i}`, source(), { contentType: 'application/octet-stream', metadata: {} });
    puts.push(MB / ((performance.now() - t) / 1000));
    clearInterval(timer);
    t = performance.now();
    for await (const _ of await store.get(`articles/bench/${i}`)) void _;
    gets.push(MB / ((performance.now() - t) / 1000));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { store: name, putMBs: median(puts), getMBs: median(gets), peakRssMiB: peak / 2 ** 20 };
}

const creds = { accessKeyId: 'BENCHKEY', secretAccessKey: 'bench-secret' };
// The fake keeps objects in memory (in this process): its RSS counts in the S3 row, so peak RSS is an upper bound.
const fake = await startS3Fake({ ...creds, buckets: ['bench'] });
const dir = mkdtempSync(join(tmpdir(), 'htbase-bench-s3-'));
try {
  const local = await measure('local disk (baseline)', createLocalBlobStore({ root: dir }));
  const client = s3ClientFor({
    S3_BUCKET: 'bench',
    S3_ENDPOINT: fake.endpoint,
    S3_REGION: 'us-east-1',
    S3_ACCESS_KEY_ID: creds.accessKeyId,
    S3_SECRET_ACCESS_KEY: creds.secretAccessKey,
    S3_FORCE_PATH_STYLE: true,
  });
  const s3 = await measure('S3 (fake, loopback)', createS3BlobStore({ client, bucket: 'bench' }));
  const parts = fake.requests.filter((r) => r.op === 'UploadPart').length / RUNS;
  console.log(`\n${MB} MB streamed of unknown length, ${RUNS} runs (medians); S3: ${parts} parts per put\n`);
  console.log('| store | put MB/s | get MB/s | peak RSS growth during put (MiB) |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const r of [local, s3])
    console.log(`| ${r.store} | ${r.putMBs.toFixed(0)} | ${r.getMBs.toFixed(0)} | ${r.peakRssMiB.toFixed(0)} |`);
} finally {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
}
