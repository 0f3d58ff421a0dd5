// The consent step: waits, within one shared budget, for autoconsent to dismiss the banners it found.
import type { ConsentHandle, ConsentOutcome } from '../consent.ts';
import type { Stage } from '../capture-types.ts';

/**
 * Returns the wait to call before scrolling (popups found by then; a click may re-lay out or reload the page),
 * before the screenshot (popups found while scrolling) and after it with `firstPass` (those a banner shows
 * shortly after load: autoconsent's first two detection passes, see ConsentHandle.settle; the screenshot is taken
 * meanwhile and taken again if one was found). Every call shares `budgetMs` from now; the time spent is added to
 * `timings.consent`. Pages without a popup pay nothing; without consent handling the wait answers null.
 */
export function consentWaiter(
  consent: ConsentHandle | null,
  budgetMs: number,
  timings: Partial<Record<Stage, number>>,
): (o?: { firstPass?: boolean }) => Promise<ConsentOutcome | null> {
  const deadline = Date.now() + budgetMs;
  let spent = 0;
  return async (o: { firstPass?: boolean } = {}) => {
    if (!consent) return null;
    const start = Date.now();
    const outcome = await consent.settle(Math.max(0, deadline - Date.now()), o);
    timings.consent = spent += Date.now() - start;
    return outcome;
  };
}
