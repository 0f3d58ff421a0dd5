// The web app's one door to the JSON API: the signed-in user's Firebase ID token or the pasted API key sent as
// Bearer, and every problem+json answer turned into a sentence a person can act on (ApiError.message), so no view
// has to know the problem types.

export interface ArtifactView {
  format: string;
  status: string;
  contentType: string | null;
  sizeBytes: number | null;
  sha256: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  attempts: number;
}

export interface SummaryView {
  provider: string;
  model: string | null;
  summary: string;
  keyPoints: string[];
  tags: string[];
  lang: string | null;
}

interface ArchiveBase {
  id: string;
  url: string;
  finalUrl: string | null;
  status: string;
  title: string | null;
  excerpt: string | null;
  siteName: string | null;
  /** The summary's tags until the owner edits them, then the owner's. */
  tags: string[];
  createdAt: string;
}

export interface ArchiveItem extends ArchiveBase {
  /** The URL's host without www.: what the site filter matches. */
  site: string | null;
  /** Added by the ranked search: HTML with <mark> only, sanitized before rendering. */
  snippet?: string | null;
  links: { self: string; thumbnail: string | null };
}

export interface ArchiveDetail extends ArchiveBase {
  httpStatus: number | null;
  note: string | null;
  byline: string | null;
  wordCount: number | null;
  warnings: string[] | null;
  artifacts: ArtifactView[];
  summary: SummaryView | null;
}

export interface ArchivePage {
  items: ArchiveItem[];
  nextCursor: string | null;
}

const KEY = 'htbase.apiKey';

export function getKey(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null; // storage disabled (private mode): the app works keyless on loopback
  }
}

export function setKey(key: string | null): void {
  if (key) localStorage.setItem(KEY, key);
  else localStorage.removeItem(KEY);
}

/** Firebase's public web settings, from /app/config.json (functions/api/web/serve.ts FirebaseWebSettings). */
export interface FirebaseWebSettings {
  apiKey: string;
  authDomain: string;
  projectId: string;
  emulatorUrl: string | null;
}

/** The signed-in Google user's ID token, fresh (client/firebase.ts); null when no one is signed in. */
let idToken: (() => Promise<string | null>) | null = null;
export function setIdTokenSource(fn: (() => Promise<string | null>) | null): void {
  idToken = fn;
}

/** The credential to send: a Firebase ID token when signed in with Google, else the pasted key, else none. */
async function bearer(): Promise<string | null> {
  if (idToken) {
    try {
      const token = await idToken();
      if (token) return token;
    } catch {
      // The token could not be refreshed (offline, account disabled): the API's 401 asks to sign in again.
      return null;
    }
  }
  return getKey();
}

/** Set by the app shell: called whenever the API answers 401, so it can ask for a key. */
let unauthorized: () => void = () => {};
export function onUnauthorized(fn: () => void): void {
  unauthorized = fn;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly type: string,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }
}

interface Problem {
  type?: string;
  title?: string;
  detail?: string;
}

let unauthorizedText = 'The API needs a key: paste an API key to continue.';
/** What a 401 tells the person: set by signin.ts when the server also offers Google sign-in. */
export function setUnauthorizedText(text: string): void {
  unauthorizedText = text;
}

/** One sentence per refusal the API gives (functions/api/problems.ts and the routes' problem types). */
export function describeProblem(status: number, p: Problem, retryAfter: number | null): string {
  const slug = (p.type ?? '').replace('urn:htbase:problem:', '');
  const detail = p.detail ? ` (${p.detail})` : '';
  if (status === 401) return unauthorizedText;
  if (status === 403) return `This account is not allowed to do that${detail}.`;
  if (status === 429)
    return `Too many requests: try again in ${retryAfter ?? 60} second${retryAfter === 1 ? '' : 's'}.`;
  if (slug === 'invalid-url') return `That is not a valid web address${detail}.`;
  if (slug === 'unsupported-scheme') return `Only http and https addresses can be archived${detail}.`;
  if (slug === 'blocked-address')
    return `That address is blocked: private, local and metadata hosts are refused${detail}.`;
  if (slug === 'nothing-to-retry') return 'Nothing to retry: no artifact has failed.';
  if (slug === 'artifact-not-ready') return `This file is not ready${detail}.`;
  if (status === 404) return 'Not found: the archive may have been deleted.';
  if (status >= 500) return 'The server failed; try again in a moment.';
  return `${p.title ?? 'Request refused'}${detail}.`;
}

export async function api<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  const key = await bearer();
  if (key) headers.set('Authorization', `Bearer ${key}`);
  if (json !== undefined) headers.set('Content-Type', 'application/json');
  let res: Response;
  try {
    res = await fetch(path, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body });
  } catch {
    throw new ApiError('The server cannot be reached; check the connection.', 0, 'network');
  }
  if (res.ok) return (res.status === 204 ? undefined : await res.json()) as T;
  const retryAfter = Number(res.headers.get('Retry-After')) || null;
  const problem = (await res.json().catch(() => ({}))) as Problem;
  if (res.status === 401) unauthorized();
  throw new ApiError(describeProblem(res.status, problem, retryAfter), res.status, problem.type ?? '', retryAfter);
}

export const artifactPath = (id: string, format: string) =>
  `/archives/${encodeURIComponent(id)}/artifacts/${encodeURIComponent(format)}`;

/**
 * A URL an <img> or <iframe> can load. Keyless (loopback) it is the artifact route itself, which sends
 * `Content-Security-Policy: sandbox`; with a key the bytes are fetched with the Bearer header and shown from a
 * blob: URL, still inside a sandbox="" iframe, so the archived page gets an opaque origin either way.
 */
export async function artifactSrc(id: string, format: string): Promise<string> {
  const key = await bearer();
  if (!key) return artifactPath(id, format);
  const res = await fetch(artifactPath(id, format), { headers: { Authorization: `Bearer ${key}` } });
  if (res.status === 401) unauthorized();
  if (!res.ok) throw new ApiError(describeProblem(res.status, {}, null), res.status, '');
  return URL.createObjectURL(await res.blob());
}

export const TERMINAL = ['complete', 'partial', 'failed'];
export const FORMAT_LABELS: Record<string, string> = {
  singlefile: 'SingleFile',
  monolith: 'Monolith',
  screenshot: 'Screenshot',
  pdf: 'PDF',
  readable: 'Readable',
  original: 'Original',
  thumbnail: 'Thumbnail',
};
