// `htbase verify`: re-hashes every stored artifact (the bucket or the data directory, as configured) and
// compares it with the sha256 recorded when it was stored. Exit 0 when all match, 1 when any does not.
import { BaseConfig, loadConfig } from '../../../shared/core/config.ts';
import { silentLogger } from '../../../shared/core/logger.ts';
import { openDatabase } from '../../../shared/db/connect.ts';
import { blobStoreFor } from '../../../shared/adapters/deps.ts';
import { verifyArtifacts } from '../../../shared/jobs/verify.ts';

export async function runVerifyCommand(args: string[], out: (s: string) => void): Promise<number> {
  const json = args.includes('--json');
  const config = loadConfig(BaseConfig, process.env);
  const h = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.HTBASE_DATA_DIR });
  try {
    const result = await verifyArtifacts({
      db: h.db,
      blobs: blobStoreFor(config, silentLogger()),
      onResult: (r) => {
        if (json || r.outcome === 'ok') return;
        const found = r.actual ? `found sha256 ${r.actual.sha256} (${r.actual.size} bytes)` : (r.error ?? 'no object');
        out(
          `${r.outcome.toUpperCase()} ${r.articleId} ${r.format} ${r.key}: expected sha256 ${r.expected.sha256}; ${found}`,
        );
      },
    });
    if (json) out(JSON.stringify(result, null, 2));
    else out(`checked ${result.checked} artifacts: ${result.ok} match, ${result.problems.length} do not`);
    return result.problems.length ? 1 : 0;
  } finally {
    await h.close();
  }
}
