// `npm run bench:hostile`: hostile pages against the single-process server (issue 16): 1 MB of plain text,
// 20,000 paragraphs, a gzip bomb, WebRTC to a loopback UDP port, redirect chains to blocked addresses, and
// submissions of every blocked range. Per case: outcome, time, and /healthz latency (max, p99) sampled throughout,
// beside the idle /healthz baseline measured in the same run.
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { serveDir } from '../support/static-server.ts';
import { http, startTestEmbedded, tempDir, terminal, waitFor } from '../support/embedded.ts';
import type { Embedded } from '../../containers/standalone/app.ts';

const SITE = fileURLToPath(new URL('../fixtures/site/', import.meta.url));
const HEALTH_EVERY_MS = 50;

interface Row {
  name: string;
  outcome: string;
  ms: number;
  healthMax: number;
  healthP99: number;
  samples: number;
}

/** Polls /healthz every HEALTH_EVERY_MS; `take()` returns the latencies since the last take. */
function healthSampler(base: string) {
  let samples: number[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t = performance.now();
      try {
        await fetch(`${base}/healthz`).then((r) => r.arrayBuffer());
      } catch {
        // a refused or reset probe counts with the time it took: the server did not answer in time
      }
      samples.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, HEALTH_EVERY_MS));
    }
  })();
  return {
    take() {
      const s = samples;
      samples = [];
      return s;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

function stats(s: number[]): { max: number; p99: number } {
  const sorted = [...s].sort((a, b) => a - b);
  return {
    max: sorted.at(-1) ?? NaN,
    p99: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? NaN,
  };
}

function describe(a: any): string {
  const parts = (a.artifacts ?? []).map(
    (x: any) =>
      `${x.format}:${x.status === 'succeeded' ? `ok ${Math.round((x.sizeBytes ?? 0) / 1024)}kB` : (x.errorCode ?? x.status)}`,
  );
  return `${a.status} [${parts.join(' ')}]`;
}

async function main(): Promise<void> {
  const udp = dgram.createSocket('udp4');
  let udpPackets = 0;
  udp.on('message', () => udpPackets++);
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  const udpPort = (udp.address() as AddressInfo).port;

  const text = Buffer.from('lighthouse keepers '.repeat(55_000)); // 1.05 MB
  const paragraphs = `<!doctype html><html lang="en"><title>Twenty thousand paragraphs</title><body><article>${Array.from(
    { length: 20_000 },
    (_, i) => `<p>Paragraph ${i} of a very long article, with enough words in it to read as prose.</p>`,
  ).join('')}</article></body></html>`;
  const bomb = gzipSync(
    Buffer.concat([Buffer.from('<!doctype html><title>bomb</title><body><p>'), Buffer.alloc(512 * 1024 * 1024, 0x20)]),
    { level: 9 },
  );
  const webrtc = `<!doctype html><title>WebRTC</title><p>WEBRTC-PAGE</p><script>
    for (const urls of ['stun:127.0.0.1:${udpPort}', 'turn:127.0.0.1:${udpPort}?transport=udp']) {
      const pc = new RTCPeerConnection({ iceServers: [{ urls, username: 'u', credential: 'c' }] });
      pc.createDataChannel('x');
      pc.createOffer().then((o) => pc.setLocalDescription(o));
    }
  </script>`;
  const site = await serveDir(SITE, {
    routes: {
      '/plain-1mb.txt': (_q, res) => void res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(text),
      '/paragraphs.html': (_q, res) =>
        void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(paragraphs),
      '/gzip-bomb.html': (_q, res) =>
        void res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' }).end(bomb),
      '/webrtc.html': (_q, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end(webrtc),
      '/chain': (req, res) => {
        const u = new URL(req.url ?? '/', 'http://x');
        const hops = Number(u.searchParams.get('hops') ?? 0);
        const to = u.searchParams.get('to')!;
        const next = hops > 0 ? `/chain?hops=${hops - 1}&to=${encodeURIComponent(to)}` : to;
        res.writeHead(302, { location: next }).end();
      },
    },
  });
  const rows: Row[] = [];
  const dirs: Array<{ remove(): Promise<void> }> = [];
  const apps: Embedded[] = [];
  try {
    // Phase 1, the development setting (loopback fixtures reachable): content cases and redirect chains to the
    // addresses that stay refused there (metadata, in each spelling).
    const dev = await tempDir('htbase-hostile-');
    dirs.push(dev);
    const app = await startTestEmbedded(dev.path, { CAPTURE_TIMEOUT_MS: '120000' });
    apps.push(app);
    const health = healthSampler(app.url);
    await new Promise((r) => setTimeout(r, 3000));
    const idle = health.take();
    const idleStats = stats(idle);
    rows.push({
      name: 'baseline: idle server',
      outcome: '-',
      ms: 3000,
      healthMax: idleStats.max,
      healthP99: idleStats.p99,
      samples: idle.length,
    });

    const capture = async (name: string, url: string, extra = () => '') => {
      const started = performance.now();
      const r = await http(app.url, '/archive', { method: 'POST', json: { url, force: true } });
      let outcome: string;
      if (r.status !== 202) outcome = `refused ${r.status} ${r.body?.type ?? ''}`;
      else outcome = describe(await waitFor(app.url, r.body.id, terminal, 300_000));
      const ms = performance.now() - started;
      const s = health.take();
      const st = stats(s);
      rows.push({ name, outcome: outcome + extra(), ms, healthMax: st.max, healthP99: st.p99, samples: s.length });
      process.stderr.write(`${name}: ${outcome}\n`);
    };
    await capture('1 MB of plain text', `${site.origin}/plain-1mb.txt`);
    await capture('20,000 paragraphs', `${site.origin}/paragraphs.html`);
    await capture('gzip bomb (512 MB page)', `${site.origin}/gzip-bomb.html`);
    await capture('WebRTC to a loopback UDP port', `${site.origin}/webrtc.html`, () => ` udp packets: ${udpPackets}`);
    for (const target of [
      'http://169.254.169.254/computeMetadata/v1/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://[fd20:ce::254]/',
      'http://[::ffff:169.254.169.254]/',
      'http://[64:ff9b::a9fe:a9fe]/',
    ]) {
      await capture(
        `5 redirects -> ${new URL(target).host}`,
        `${site.origin}/chain?hops=4&to=${encodeURIComponent(target)}`,
      );
    }
    await health.stop();

    // Phase 2, the production setting (private networks refused): every blocked range, as submitted.
    const prod = await tempDir('htbase-hostile-prod-');
    dirs.push(prod);
    const strict = await startTestEmbedded(prod.path, { HTBASE_ALLOW_PRIVATE_NETWORKS: 'false' });
    apps.push(strict);
    const h2 = healthSampler(strict.url);
    for (const target of [
      'http://127.0.0.1/',
      'http://10.0.0.1/',
      'http://172.16.0.1/',
      'http://192.168.1.1/',
      'http://100.64.0.1/',
      'http://[::1]/',
      'http://[fe80::1]/',
      'http://[fc00::1]/',
      'http://[64:ff9b::7f00:1]/',
      'http://[64:ff9b:1::a00:1]/',
      'http://[2002:7f00:1::]/',
      'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/',
      'http://[::ffff:0:7f00:1]/',
      'http://0.0.0.0/',
      'http://224.0.0.1/',
    ]) {
      const started = performance.now();
      const r = await http(strict.url, '/archive', { method: 'POST', json: { url: target } });
      const ms = performance.now() - started;
      const s = h2.take();
      const st = stats(s);
      const outcome = r.status === 202 ? `ACCEPTED (${r.body.id})` : `refused ${r.status} ${r.body?.type ?? ''}`;
      rows.push({
        name: `private refused: ${new URL(target).host}`,
        outcome,
        ms,
        healthMax: st.max,
        healthP99: st.p99,
        samples: s.length,
      });
    }
    await h2.stop();
  } finally {
    for (const a of apps) await a.close();
    await site.close();
    udp.close();
    for (const d of dirs) await d.remove();
  }

  // A case shorter than one sampling interval has no sample of its own.
  const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : '-');
  const pad = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s.padEnd(n));
  console.log(
    `\nhostile pages against the single-process server (/healthz every ${HEALTH_EVERY_MS} ms; goal < 200 ms)\n`,
  );
  console.log(`${pad('case', 40)} ${pad('time', 9)} ${pad('healthz max', 12)} ${pad('p99', 8)} ${pad('n', 5)} outcome`);
  for (const r of rows) {
    console.log(
      `${pad(r.name, 40)} ${pad(`${(r.ms / 1000).toFixed(1)} s`, 9)} ${pad(ms(r.healthMax), 12)} ${pad(ms(r.healthP99), 8)} ${pad(String(r.samples), 5)} ${r.outcome}`,
    );
  }
  const worst = Math.max(...rows.map((r) => r.healthMax).filter(Number.isFinite));
  console.log(`\nworst /healthz latency: ${worst.toFixed(0)} ms (${worst < 200 ? 'under' : 'OVER'} the 200 ms goal)`);
}

await main();
