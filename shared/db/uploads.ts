// Uploaded pages (migration 0010): which articles came from the person's browser as a SingleFile file, so their
// derived formats are rendered from the stored file and never fetched from the live URL.
import type { Kysely } from 'kysely';
import type { Database } from './types.ts';

export interface UploadedPagesTable {
  article_id: string;
  size_bytes: number;
  created_at?: Date;
}

const tables = (db: Kysely<Database>) => db.withTables<{ uploaded_pages: UploadedPagesTable }>();

export async function markUploaded(db: Kysely<Database>, articleId: string, sizeBytes: number): Promise<void> {
  await tables(db)
    .insertInto('uploaded_pages')
    .values({ article_id: articleId, size_bytes: sizeBytes })
    .onConflict((oc) => oc.column('article_id').doNothing())
    .execute();
}

export async function isUploaded(db: Kysely<Database>, articleId: string): Promise<boolean> {
  const row = await tables(db)
    .selectFrom('uploaded_pages')
    .select('article_id')
    .where('article_id', '=', articleId)
    .executeTakeFirst();
  return !!row;
}
