// URL normalization for deduplication: the same page reached through cosmetic URL variants is one URL.

const TRACKING_PARAMS =
  /^(utm_[a-z]+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|igshid|yclid|_hsenc|_hsmi|ref_src)$/i;

/** Lower-cases scheme and host, drops default ports, fragments, tracking parameters; sorts the query. */
export function normalizeUrl(input: string | URL): string {
  const url = new URL(typeof input === 'string' ? input : input.href);
  url.hash = '';
  url.hostname = url.hostname.toLowerCase().replace(/\.$/, '');
  if ((url.protocol === 'http:' && url.port === '80') || (url.protocol === 'https:' && url.port === '443'))
    url.port = '';
  const params = [...url.searchParams.entries()].filter(([k]) => !TRACKING_PARAMS.test(k));
  params.sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : av > bv ? 1 : 0) : a < b ? -1 : 1));
  url.search = '';
  for (const [k, v] of params) url.searchParams.append(k, v);
  if (url.pathname === '') url.pathname = '/';
  return url.href;
}
