// The stuck-work sweeper as an HTTP function (`--target=sweep`), invoked every few minutes by Cloud
// Scheduler with an OIDC token of its own service account: verify that token, then run sweepOnce.
import { z } from 'zod';
import type { Request, Response } from 'express';
import { BaseConfig, optStr, bool } from '../../shared/core/config.ts';
import type { Logger } from '../../shared/core/logger.ts';
import type { PushVerifier } from '../../shared/auth/oidc.ts';
import { AuthError } from '../../shared/auth/jwt.ts';

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
});
export type SweepConfig = z.infer<typeof SweepConfig>;

export interface SweepHandlerDeps {
  /** Null only by explicit configuration (SWEEP_VERIFY_OIDC=false). */
  verifier: PushVerifier | null;
  sweep: () => Promise<{ republished: number; failed: number }>;
  logger: Logger;
}

export function createSweepHandler(deps: SweepHandlerDeps): (req: Request, res: Response) => Promise<void> {
  const log = deps.logger.child({ component: 'sweep' });
  return async (req, res) => {
    if (req.method !== 'POST') {
      res.status(405).setHeader('Allow', 'POST').json({ error: 'method not allowed' });
      return;
    }
    if (deps.verifier) {
      try {
        await deps.verifier.verify(req.headers.authorization);
      } catch (err) {
        if (err instanceof AuthError) {
          log.warn({ code: err.code, status: err.status }, 'sweep request refused');
          res.status(err.status).json({ error: err.code });
          return;
        }
        throw err;
      }
    }
    try {
      const r = await deps.sweep();
      res.status(200).json(r);
    } catch (err) {
      // 5xx: the scheduler records the failure and the next run tries again.
      log.error({ err }, 'sweep failed');
      res.status(500).json({ error: 'sweep failed' });
    }
  };
}
