// Types for the part of single-file-cli (plain JS, no typings) that the capture imports.
declare module 'single-file-cli/lib/single-file-script.js' {
  export const FETCH_FUNCTION_NAME: string;
  export const RESOLVE_FETCH_FUNCTION_NAME: string;
  export const REJECT_FETCH_FUNCTION_NAME: string;
  /** The SingleFile bundle plus the CLI's init (fetch with a fallback through a binding). */
  export function getScriptSource(options: {
    browserScripts?: string[];
    browserStylesheets?: string[];
  }): Promise<string>;
  /** The main-world hook script (IntersectionObserver, fonts, shadow roots...). */
  export function getHookScriptSource(): string;
}
