// The owner of rows a test writes straight into the database (the first admin that migration 0004 creates),
// and keys of named users for tests that need callers of their own.
import type { Kysely } from 'kysely';
import type { Database } from '../../shared/db/types.ts';
import { createUser, findUserByRef, firstAdmin } from '../../shared/db/users.ts';
import { createApiKey } from '../../shared/auth/api-keys.ts';

export async function adminId(db: Kysely<Database>): Promise<string> {
  return (await firstAdmin(db)).id;
}

/** A new key of the first admin, or of the user `user` (made on first use). */
export async function keyFor(db: Kysely<Database>, name: string, user?: string): Promise<string> {
  const owner = user ? ((await findUserByRef(db, user)) ?? (await createUser(db, { name: user }))) : undefined;
  return (await createApiKey(db, name, { userId: owner?.id })).key;
}
