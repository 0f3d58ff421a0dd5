// `htbase apikey create <name>` / `htbase apikey revoke <id-or-key>`: API keys in the database (only hashes).
import { BaseConfig, loadConfig } from '../../../shared/core/config.ts';
import { openDatabase } from '../../../shared/db/connect.ts';
import { createApiKey, revokeApiKey } from '../../../shared/auth/api-keys.ts';

export async function runApiKeyCommand(args: string[], out: (s: string) => void): Promise<number> {
  const [sub, arg] = args;
  if ((sub !== 'create' && sub !== 'revoke') || !arg) {
    out('usage: htbase apikey create <name> | htbase apikey revoke <id-or-key>');
    return 2;
  }
  const config = loadConfig(BaseConfig, process.env);
  const h = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.HTBASE_DATA_DIR });
  try {
    if (sub === 'create') {
      const k = await createApiKey(h.db, arg);
      out(`created API key ${k.id} (${arg}); shown once, store it now:`);
      out(k.key);
      return 0;
    }
    const revoked = await revokeApiKey(h.db, arg);
    out(revoked ? `revoked ${arg}` : `no active key ${arg}`);
    return revoked ? 0 : 1;
  } finally {
    await h.close();
  }
}
