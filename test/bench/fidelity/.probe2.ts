import { startEgressProxy } from '/work/main/shared/egress-proxy.ts';
import { silentLogger } from '/work/main/shared/logger.ts';
import { execFileSync } from 'node:child_process';
const proxy = await startEgressProxy({ allowPrivateNetworks: true, logger: silentLogger() });
for (let i = 0; i < 3; i++) {
  const t = Date.now();
  try { execFileSync('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{time_total}', '-x', proxy.url, 'https://www.aclu.org/x.png'], { encoding: 'utf8' }); } catch (e) { console.log('curl', (e as any).stderr?.toString().trim(), Date.now() - t, 'ms'); }
}
await proxy.close();
