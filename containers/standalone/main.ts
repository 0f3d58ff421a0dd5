// `npm start`: HT Base embedded — every deployable in one process on 127.0.0.1, data under HTBASE_DATA_DIR.
import { loadConfig, ConfigError } from '../../shared/core/config.ts';
import { EmbeddedConfig } from './config.ts';
import { createLogger } from '../../shared/core/logger.ts';
import { exposureRefusal, startEmbedded } from './app.ts';
import { StorageUnavailableError } from '../../shared/adapters/s3-config.ts';

const logger = createLogger({ component: 'embedded', level: process.env.LOG_LEVEL });
let config;
try {
  config = loadConfig(EmbeddedConfig, process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
const refusal = exposureRefusal(config);
if (refusal) {
  console.error(refusal);
  process.exit(2);
}

const app = await startEmbedded({ config, logger, searchPath: process.env.PATH }).catch((err: unknown) => {
  // A misconfigured artifact store is the operator's to fix: say which setting, without a stack trace.
  if (!(err instanceof StorageUnavailableError)) throw err;
  console.error(err.message);
  process.exit(2);
});
logger.info(
  {
    url: app.url,
    dataDir: config.HTBASE_DATA_DIR,
    artifacts: config.S3_BUCKET ? `s3://${config.S3_BUCKET}` : 'data directory',
    database: app.db.kind,
    summarizer: app.summarizer.provider,
    monolith: app.monolith.binary
      ? `${app.monolith.binary} ${app.monolith.version}`
      : `unavailable: ${app.monolith.reason}`,
    allowPrivateNetworks: config.HTBASE_ALLOW_PRIVATE_NETWORKS,
  },
  'HT Base is running',
);
if (!app.monolith.binary) {
  logger.warn(
    { reason: app.monolith.reason },
    'monolith is unavailable: monolith artifacts will be skipped (monolith_unavailable)',
  );
}

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  const force = setTimeout(() => process.exit(1), 15_000);
  force.unref();
  await app.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
