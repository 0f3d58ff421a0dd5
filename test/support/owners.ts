// The owner of rows a test writes straight into the database: the first admin that migration 0004 creates.
import type { Kysely } from 'kysely';
import type { Database } from '../../shared/db/types.ts';
import { firstAdmin } from '../../shared/db/users.ts';

export async function adminId(db: Kysely<Database>): Promise<string> {
  return (await firstAdmin(db)).id;
}
