// The consent step: waits, within one shared budget, for autoconsent to dismiss the banners it found.
import type { ConsentHandle, ConsentOutcome } from '../consent.ts';
import type { Stage } from '../capture-types.ts';

/**
 * Returns the wait to call before scrolling (popups found by then; a click may re-lay out or reload the page)
 * and again before the screenshot (those that appear later: autoconsent keeps looking for about 3 s). Both
 * calls share `budgetMs` from now; the time spent is added to `timings.consent`. Pages without a popup pay
 * nothing; without consent handling the wait answers null.
 */
export function consentWaiter(
  consent: ConsentHandle | null,
  budgetMs: number,
  timings: Partial<Record<Stage, number>>,
): () => Promise<ConsentOutcome | null> {
  const deadline = Date.now() + budgetMs;
  let spent = 0;
  let calls = 0;
  return async () => {
    if (!consent) return null;
    const start = Date.now();
    // The second call (before the formats) also waits for frames whose first detection pass has not run.
    const outcome = await consent.settle(Math.max(0, deadline - Date.now()), { firstPass: ++calls > 1 });
    timings.consent = spent += Date.now() - start;
    return outcome;
  };
}
