// `htbase user ...` and `htbase apikey ...`: the people of an instance and their keys, straight in the database
// (DATABASE_URL or the data directory). A key is shown once; only its hash is stored.
import { parseArgs } from 'node:util';
import { BaseConfig, loadConfig } from '../../../shared/core/config.ts';
import { openDatabase } from '../../../shared/db/connect.ts';
import { createUser, findUserByRef, listUsers, UserInputError } from '../../../shared/db/users.ts';
import { createApiKey, listApiKeys, revokeApiKey } from '../../../shared/auth/api-keys.ts';

export const ACCOUNTS_USAGE = `  htbase user create NAME [--email E] [--firebase-uid UID] [--admin]
  htbase user list
  htbase apikey create NAME --user USER [--scope read|write] [--expires 30d|12h|2027-01-31]
  htbase apikey list [--user USER]
  htbase apikey revoke ID`;

type Out = (s: string) => void;

/** `30d`, `12h`, `90m` from now, or an ISO date; a clear error for anything else. */
export function parseExpiry(value: string, now = new Date()): Date {
  const rel = /^(\d+)([dhm])$/.exec(value.trim());
  if (rel) {
    const ms = { d: 86_400_000, h: 3_600_000, m: 60_000 }[rel[2] as 'd' | 'h' | 'm'];
    return new Date(now.getTime() + Number(rel[1]) * ms);
  }
  const d = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(d.getTime()))
    throw new UserInputError(`--expires takes 30d, 12h, 90m or a date like 2027-01-31, not "${value}"`);
  if (d <= now) throw new UserInputError(`--expires ${value} is in the past`);
  return d;
}

const fmt = (d: Date | null) => (d ? d.toISOString().replace(/\.\d+Z$/, 'Z') : '-');

async function run(kind: 'user' | 'apikey', args: string[], out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      email: { type: 'string' },
      'firebase-uid': { type: 'string' },
      admin: { type: 'boolean', default: false },
      user: { type: 'string' },
      scope: { type: 'string', default: 'write' },
      expires: { type: 'string' },
    },
  });
  const [sub, arg] = positionals;
  const config = loadConfig(BaseConfig, process.env);
  const h = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.HTBASE_DATA_DIR });
  const db = h.db;
  const userRef = async (ref: string | undefined) => {
    if (!ref) throw new UserInputError('--user USER is required (a user name or id; see `htbase user list`)');
    const u = await findUserByRef(db, ref);
    if (!u) throw new UserInputError(`no user "${ref}" (see \`htbase user list\`)`);
    return u;
  };
  try {
    if (kind === 'user' && sub === 'create' && arg) {
      const u = await createUser(db, {
        name: arg,
        email: values.email,
        firebaseUid: values['firebase-uid'],
        role: values.admin ? 'admin' : 'member',
      });
      out(`created user ${u.name} (${u.id}, ${u.role})`);
      return 0;
    }
    if (kind === 'user' && sub === 'list') {
      for (const u of await listUsers(db)) out(`${u.id}  ${u.name}  ${u.role}  ${u.email ?? '-'}`);
      return 0;
    }
    if (kind === 'apikey' && sub === 'create' && arg) {
      const user = await userRef(values.user);
      if (values.scope !== 'read' && values.scope !== 'write')
        throw new UserInputError(`--scope is read or write, not "${values.scope}"`);
      const expiresAt = values.expires ? parseExpiry(values.expires) : null;
      const k = await createApiKey(db, arg, { userId: user.id, scope: values.scope, expiresAt });
      out(`created ${k.scope} key ${k.id} (${arg}) for ${user.name}, expires ${fmt(k.expiresAt)}; shown once:`);
      out(k.key);
      return 0;
    }
    if (kind === 'apikey' && sub === 'list') {
      const user = values.user ? await userRef(values.user) : null;
      for (const k of await listApiKeys(db, { userId: user?.id }))
        out(
          `${k.id}  ${k.name}  user=${k.userName}  ${k.scope}  created=${fmt(k.createdAt)}  ` +
            `expires=${fmt(k.expiresAt)}  last-used=${fmt(k.lastUsedAt)}  ${k.revokedAt ? 'revoked' : 'active'}`,
        );
      return 0;
    }
    if (kind === 'apikey' && sub === 'revoke' && arg) {
      const revoked = await revokeApiKey(db, arg);
      out(revoked ? `revoked ${arg}` : `no active key ${arg}`);
      return revoked ? 0 : 1;
    }
    out(`usage:\n${ACCOUNTS_USAGE}`);
    return 2;
  } finally {
    await h.close();
  }
}

/** Runs `htbase user|apikey ...`; bad input is a message and exit code 2, never a stack trace. */
export async function runAccountsCommand(kind: 'user' | 'apikey', args: string[], out: Out): Promise<number> {
  try {
    return await run(kind, args, out);
  } catch (err) {
    if (
      err instanceof UserInputError ||
      err instanceof RangeError ||
      (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      out(`htbase ${kind}: ${(err as Error).message}`);
      return 2;
    }
    throw err;
  }
}
