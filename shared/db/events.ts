// Processed events: the message and event ids already acted on, the idempotency key of at-least-once delivery.
import type { Kysely } from 'kysely';
import type { Database } from './types.ts';

/** Records an event id; false when it was seen before (idempotency on message/event ids). */
export async function markEventProcessed(db: Kysely<Database>, id: string, kind: string): Promise<boolean> {
  const r = await db
    .insertInto('processed_events')
    .values({ id, kind })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return !!r;
}

/** Whether the event id was recorded, without recording it (a check before the work, the mark after it). */
export async function isEventProcessed(db: Kysely<Database>, id: string): Promise<boolean> {
  return !!(await db.selectFrom('processed_events').select('id').where('id', '=', id).executeTakeFirst());
}
