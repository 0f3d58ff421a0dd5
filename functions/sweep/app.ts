// The stuck-work sweeper as an HTTP function (`--target=sweep`), invoked every few minutes by Cloud
// Scheduler with an OIDC token of its own service account: verify that token, then run sweepOnce.
import type { Request, Response } from 'express';
import type { Logger } from '../../shared/core/logger.ts';
import type { PushVerifier } from '../../shared/auth/oidc.ts';
import { AuthError } from '../../shared/auth/jwt.ts';

export interface SweepHandlerDeps {
  /** Null only by explicit configuration (SWEEP_VERIFY_OIDC=false). */
  verifier: PushVerifier | null;
  sweep: () => Promise<{ republished: number; failed: number } & Record<string, unknown>>;
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
