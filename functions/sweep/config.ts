// Configuration of the stuck-work sweeper (`--target=sweep`): who may call it (the scheduler's OIDC token)
// and when a stuck artifact is given up on; verification on needs its audience and caller (a refinement).
import { z } from 'zod';
import { BaseConfig, optStr, bool } from '../../shared/core/config.ts';
import { ImportConfig } from '../../shared/imports/config.ts';

export const SweepConfig = BaseConfig.extend({
  /** Verify the scheduler's OIDC token. Off only by explicit configuration (local topology without an issuer). */
  SWEEP_VERIFY_OIDC: bool(true),
  /** The audience the Cloud Scheduler job puts in its token (the function URL). */
  SWEEP_AUDIENCE: optStr,
  /** The service account the scheduler job signs as; the only caller accepted. */
  SWEEP_INVOKER_SA: optStr,
  /** Signing keys of the token issuer; Google's by default (tests point it at their own). */
  OIDC_JWKS_URL: optStr,
  /** Claims after which a stuck artifact is failed with `stuck` instead of republished. */
  SWEEP_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(7),
  /** Each run also hands waiting import lines to the workers (shared/imports): this many seconds' worth. */
  SWEEP_IMPORT_SECONDS: z.coerce.number().int().min(1).default(60),
  ...ImportConfig.shape,
}).superRefine((c, ctx) => {
  if (!c.SWEEP_VERIFY_OIDC) return;
  for (const k of ['SWEEP_AUDIENCE', 'SWEEP_INVOKER_SA'] as const) {
    if (!c[k])
      ctx.addIssue({
        code: 'custom',
        path: [k],
        message:
          'SWEEP_VERIFY_OIDC is on: SWEEP_AUDIENCE and SWEEP_INVOKER_SA are required (set SWEEP_VERIFY_OIDC=false only for local runs)',
      });
  }
});
export type SweepConfig = z.infer<typeof SweepConfig>;
