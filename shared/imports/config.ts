// The import settings (parsed at the edge with the deployable's config): the upload cap and the queuer's bounds.
import { z } from 'zod';
import { int } from '../core/config.ts';

export const ImportConfig = z.object({
  /** Largest import file accepted (413 above it). */
  IMPORT_MAX_BYTES: int(32 * 1024 * 1024, 1024),
  /** Import lines handed to the capture workers per second. */
  IMPORT_RATE_PER_SECOND: z.coerce.number().positive().default(2),
  /** Import captures in flight at once, over all imports (interactive archiving keeps the rest of the workers). */
  IMPORT_MAX_IN_FLIGHT: int(8, 1),
  /** Import captures in flight at once on one host. */
  IMPORT_MAX_PER_HOST: int(2, 1),
});
export type ImportConfig = z.infer<typeof ImportConfig>;
