// Cloud Run entry point of the browser worker: Pub/Sub pushes capture-browser jobs to POST /pubsub/push.
import { runWorker } from '../../shared/capture/main.ts';
import { loadConfig } from '../../shared/core/config.ts';
import { BrowserWorkerConfig, sandboxOption } from './config.ts';
import { BrowserPool } from './browser-pool.ts';
import { createBrowserEngine } from './engine.ts';

await runWorker(
  'browser',
  loadConfig(BrowserWorkerConfig, process.env),
  async ({ config, logger, proxyUrl, blobs }) => {
    const pool = new BrowserPool({
      logger,
      executablePath: config.CHROME_PATH,
      proxyServer: proxyUrl,
      sandbox: sandboxOption(config.CHROMIUM_SANDBOX),
      warmContext: true,
    });
    return {
      engine: createBrowserEngine({
        pool,
        guard: { allowPrivateNetworks: config.HTBASE_ALLOW_PRIVATE_NETWORKS },
        timeouts: { navigation: config.NAVIGATION_TIMEOUT_MS },
        limits: { maxBytesPerArtifact: config.MAX_ARTIFACT_BYTES, maxResourceBytes: config.MAX_RESOURCE_BYTES },
        consent: config.CONSENT_MODE,
        blockTrackers: config.BLOCK_TRACKERS,
        renderedDom: config.MONOLITH_MODE === 'rendered' ? { blobs } : undefined,
      }),
      health: async () => ({ browserPid: pool.pid() ?? null, launches: pool.launches }),
      close: () => pool.close(),
    };
  },
);
