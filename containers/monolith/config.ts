// The monolith worker's settings: the common worker settings (shared/core/config.ts) plus the binary's.
// Parsed once by containers/monolith/index.ts; the single-process server takes its fields from here too.
import { z } from 'zod';
import { WorkerConfig, bool, int, optStr } from '../../shared/core/config.ts';

export const MonolithWorkerConfig = WorkerConfig.extend({
  /** The monolith binary; unset: `monolith` on PATH. */
  MONOLITH_PATH: optStr,
  /** Refuse to start without a working monolith binary (set in the monolith image). */
  MONOLITH_REQUIRED: bool(false),
  /** Per asset monolith fetches over http (cut by the egress proxy); over https, per connection (issue 16). */
  MONOLITH_MAX_ASSET_BYTES: int(10 * 1024 * 1024, 1),
});
export type MonolithWorkerConfig = z.infer<typeof MonolithWorkerConfig>;
