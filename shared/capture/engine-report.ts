// What an engine's start-up probe reports to `htbase doctor`: available or not, its version, where it was
// found and why not. Each engine exports its probe (containers/<engine>/engine-probe.ts); the doctor lists them.

export type EngineName = 'chromium' | 'monolith' | 'singlefile';

export interface EngineReport {
  engine: EngineName;
  available: boolean;
  version: string | null;
  /** Executable or file the engine runs from, when found. */
  path: string | null;
  /** Where it was found: CHROME_PATH, @sparticuz/chromium, MONOLITH_PATH, PATH, single-file-cli. */
  source: string | null;
  /** Why it is unavailable, or a note (e.g. a version other than the pinned one). */
  detail: string | null;
}

/** An error's message, for a report's detail. */
export const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
