// Child process of chromium-unpack.test.ts: resolves the bundled @sparticuz/chromium (unpacking it into
// $TMPDIR when it is not there yet) and launches it through the BrowserPool, as a worker starting up does.
import { BrowserPool } from '../../containers/browser/browser-pool.ts';
import { silentLogger } from '../../shared/core/logger.ts';

const pool = new BrowserPool({ logger: silentLogger(), launchTimeoutMs: 90_000 });
try {
  const browser = await pool.browser();
  process.stdout.write(`launched ${await browser.version()}\n`);
} catch (err) {
  process.stdout.write(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
} finally {
  await pool.close();
}
