// The Eventarc stand-in: a finalized object in the bucket becomes a binary-mode storage CloudEvent POSTed to
// summarize, retried with backoff on non-2xx as a push trigger would; every delivery is logged for the tests.
import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ObjectResource } from '../fakes/gcs-server.ts';

export interface FinalizeDelivery {
  eventId: string;
  object: string;
  status: number;
  attempts: number;
}

/** Eventarc's binary-mode CloudEvent for a finalized object, retried on non-2xx like a push trigger. */
export async function deliverFinalize(
  target: string,
  obj: ObjectResource,
  log: FinalizeDelivery[],
  signal: AbortSignal,
): Promise<void> {
  const eventId = String(randomInt(1, 2 ** 47));
  const entry: FinalizeDelivery = { eventId, object: obj.name, status: 0, attempts: 0 };
  log.push(entry);
  for (let attempt = 1; attempt <= 6 && !signal.aborted; attempt++) {
    entry.attempts = attempt;
    try {
      const res = await fetch(target, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'ce-specversion': '1.0',
          'ce-type': 'google.cloud.storage.object.v1.finalized',
          'ce-source': `//storage.googleapis.com/projects/_/buckets/${obj.bucket}`,
          'ce-subject': `objects/${obj.name}`,
          'ce-id': eventId,
          'ce-time': obj.updated,
          'ce-bucket': obj.bucket,
        },
        body: JSON.stringify(obj),
        signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]),
      });
      await res.arrayBuffer();
      entry.status = res.status;
      if (res.ok) return;
    } catch {
      entry.status = 0;
    }
    await sleep(250 * 2 ** (attempt - 1), undefined, { signal }).catch(() => undefined);
  }
}
