// Cloud Run entry point of the monolith worker: Pub/Sub pushes capture-monolith jobs to POST /pubsub/push.
// The binary is checked at start-up (`monolith -V`); with MONOLITH_REQUIRED the worker refuses to run without it.
import { runWorker } from '../../shared/capture/main.ts';
import { loadConfig } from '../../shared/core/config.ts';
import { MonolithWorkerConfig } from './config.ts';
import { createMonolithEngine } from './engine.ts';
import { findMonolith, monolithVersion } from './binary.ts';
import { browserCaptureInProgress } from '../../shared/db/artifacts.ts';

const config = loadConfig(MonolithWorkerConfig, process.env);
await runWorker(
  'monolith',
  config,
  async ({ logger, proxyUrl, blobs, db }) => {
    const binary = await findMonolith(config.MONOLITH_PATH, process.env.PATH ?? '');
    let version: string | null = null;
    let reason: string | null = binary ? null : 'no monolith binary (set MONOLITH_PATH)';
    if (binary) {
      try {
        version = await monolithVersion(binary);
      } catch (err) {
        reason = (err as Error).message;
      }
    }
    if (!version) {
      if (config.MONOLITH_REQUIRED) throw new Error(`monolith is required but unavailable: ${reason}`);
      logger.warn({ reason }, 'monolith unavailable: artifacts will be skipped (monolith_unavailable)');
    } else logger.info({ binary, version }, 'monolith ready');
    return {
      engine: createMonolithEngine({
        binary: version ? binary : null,
        version,
        proxyUrl,
        timeoutMs: config.CAPTURE_TIMEOUT_MS,
        maxBytes: config.MAX_ARTIFACT_BYTES,
        mode: config.MONOLITH_MODE,
        blobs,
        browserPending: (id) => browserCaptureInProgress(db, id),
      }),
      health: async () => ({ monolith: version ?? 'unavailable' }),
      close: async () => undefined,
    };
  },
  // monolith has no size option of its own: its egress proxy cuts each http asset, and each https
  // connection at the artifact cap (nothing larger could fit in the archive).
  { maxResponseBytes: config.MONOLITH_MAX_ASSET_BYTES, maxTunnelBytes: config.MAX_ARTIFACT_BYTES },
);
