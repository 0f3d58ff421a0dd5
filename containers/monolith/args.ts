// monolith's command line: the argument list built from the capture's options, without a shell and without
// the binary. Pure (tested in test/unit/monolith-version.test.ts); a bad option is a PermanentError.
import { PermanentError } from '../../shared/core/errors.ts';
import { parseTargetUrl } from '../../shared/net/ssrf.ts';

export interface MonolithArgsOptions {
  /** The page URL (http/https). In rendered-DOM mode it is the base URL unless baseUrl is given. */
  url: string;
  baseUrl?: string;
  /** Rendered-DOM mode: this HTML is written to monolith's stdin (`-` with `-b <url>`). */
  stdinHtml?: Buffer | string;
  userAgent?: string;
  /** -I: a CSP that cuts the saved document off from the network. Default true. */
  isolate?: boolean;
  /** -j: drop JavaScript. Default true (an archive should not run the page's code). */
  noJs?: boolean;
  /**
   * -e: embed assets whatever their HTTP status. Default false: with -e monolith would also save a
   * non-200 main document, e.g. the proxy's 403 refusal page, as if it were the article.
   */
  ignoreErrors?: boolean;
  /** -M: no "saved from" comment. Default false. */
  noMetadata?: boolean;
  /** -t: per-asset network timeout in whole seconds. Default 30. */
  assetTimeoutSec?: number;
  /** -C: a Netscape cookies.txt (logged-in capture); monolith sends each cookie only to hosts it matches. */
  cookieFile?: string;
}

const DEFAULT_ASSET_TIMEOUT_SEC = 30;

/** The argument list, without a shell and without the binary; pure (tested in test/unit/monolith-args.test.ts). */
export function buildMonolithArgs(opts: MonolithArgsOptions): string[] {
  const target = parseTargetUrl(opts.url);
  const args: string[] = [];
  if (opts.noJs ?? true) args.push('-j');
  if (opts.isolate ?? true) args.push('-I');
  if (opts.ignoreErrors) args.push('-e');
  if (opts.noMetadata) args.push('-M');
  const t = opts.assetTimeoutSec ?? DEFAULT_ASSET_TIMEOUT_SEC;
  if (!Number.isInteger(t) || t < 1)
    throw new PermanentError('invalid_config', `assetTimeoutSec must be a positive integer, got ${t}`);
  args.push('-t', String(t));
  // The `=` form: a path is never read as a flag.
  if (opts.cookieFile) args.push(`--cookie-file=${opts.cookieFile}`);
  if (opts.userAgent) {
    if (/[\r\n\0]/.test(opts.userAgent))
      throw new PermanentError('invalid_config', 'the user agent contains control characters');
    // The `=` form keeps a value starting with '-' from being read as a flag.
    args.push(`--user-agent=${opts.userAgent}`);
  }
  if (opts.stdinHtml !== undefined) {
    const base = parseTargetUrl(opts.baseUrl ?? target.href);
    args.push('-b', base.href, '-');
  } else {
    // url.href always starts with the scheme, so it can never be taken for an option.
    args.push(target.href);
  }
  return args;
}
