// The zod schemas of the HTTP API: what the routes validate requests with and what the serializers answer with.
// openapi.ts renders /openapi.json from these same objects, so the document cannot drift from the code.
import { z } from 'zod';
import { FORMATS } from '../../shared/core/formats.ts';
import { importResponseComponents } from './import-schemas.ts';

// ---- Shared vocabulary ----

export const Format = z.enum(FORMATS);
/**
 * `original` and `thumbnail` are never requested: the browser worker adds `original` when the URL is not HTML and
 * `thumbnail` (a small WebP of the page's top) with the screenshot (see shared/core/formats.ts).
 */
export const ArtifactFormat = z.enum([...FORMATS, 'original', 'thumbnail']);
export const ArchiveStatus = z.enum(['pending', 'running', 'complete', 'partial', 'failed']);
export const ArtifactStatus = z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped']);
/** Any 8-4-4-4-12 hex id, as the routes accept: an id that is not one answers 404, not 400. */
export const ArchiveId = z.guid();
const Timestamp = z.iso.datetime();

// ---- Requests ----

/**
 * A format name as a request carries it: any string, so that an unknown name answers 400 `unknown-format`
 * with the list of known ones (requests.ts parseFormats) rather than a generic `invalid-request`. The
 * document lists the known names (openapi.ts renders it as the Format enum).
 */
export const FormatName = z.string();

export const SubmitBody = z
  .object({
    url: z
      .string({ error: 'url is required and must be a string' })
      .min(1, 'url is required')
      .max(8192, 'url is too long'),
    formats: z.array(FormatName).min(1, 'formats must not be empty').optional(),
    force: z.boolean().optional(),
  })
  .strict();

export const RetryBody = z.object({ formats: z.array(FormatName).optional() }).strict();
export const SummaryBody = z.object({ force: z.boolean().optional() }).strict();

/** An admin's explicit choice of whose archives (a user name or id); anyone else may name only themselves. */
const owner = z.string().min(1).max(200).optional();
export const OwnerQuery = z.object({ owner });

export const ListQuery = z.object({
  owner,
  q: z.string().max(500).optional(),
  url: z.string().max(8192).optional(),
  status: ArchiveStatus.optional(),
  /** One tag, exactly as shown (the summary's tags, or the owner's once edited). */
  tag: z.string().trim().min(1).max(64).optional(),
  /** The site: a host name, `www.` ignored (example.com also finds www.example.com). */
  site: z
    .string()
    .trim()
    .toLowerCase()
    .max(253)
    .regex(/^[a-z0-9.-]+$/, 'site must be a host name such as example.com')
    .transform((h) => h.replace(/^www\./, ''))
    .optional(),
  /** Archived on or after this day (YYYY-MM-DD, UTC) or instant (ISO 8601). */
  from: z.union([z.iso.date(), z.iso.datetime({ offset: true })]).optional(),
  /** Archived on or before this day (YYYY-MM-DD, the whole day, UTC) or before this instant. */
  to: z.union([z.iso.date(), z.iso.datetime({ offset: true })]).optional(),
  /** With q: `relevance` (the default) or `date` (newest first); without q always newest first. */
  sort: z.enum(['relevance', 'date']).optional(),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** PATCH /archives/{id}: the owner's tags (replacing the summary's) and note; at least one of the two. */
export const NotesBody = z
  .object({
    tags: z
      .array(
        z
          .string({ error: 'each tag must be a string' })
          .trim()
          .min(1, 'a tag must not be empty')
          .max(64, 'a tag is at most 64 characters')
          .regex(/^[^\p{Cc}]+$/u, 'a tag must not contain control characters'),
      )
      .max(50, 'at most 50 tags')
      .optional(),
    note: z.string().max(4000, 'the note is at most 4,000 characters').nullable().optional(),
  })
  .strict()
  .refine((b) => b.tags !== undefined || b.note !== undefined, 'give tags, note or both');

export const IdempotencyKey = z.string().min(1).max(200);
export const SubmitHeaders = z.object({ 'Idempotency-Key': IdempotencyKey.optional() });
export const ArchivePath = z.object({ id: ArchiveId });
export const ArtifactPath = z.object({ id: ArchiveId, format: ArtifactFormat });

// ---- Responses ----

export const Links = z.object({
  self: z.string(),
  retry: z.string(),
  summary: z.string(),
  artifacts: z.partialRecord(ArtifactFormat, z.string()),
});

export const ArtifactView = z.object({
  format: ArtifactFormat,
  status: ArtifactStatus,
  contentType: z.string().nullable(),
  sizeBytes: z.int().nullable(),
  sha256: z.string().nullable(),
  errorCode: z.string().nullable(),
  errorMessage: z.string().nullable(),
  attempts: z.int(),
  engineVersion: z.string().nullable(),
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp.nullable(),
});

export const SummaryView = z.object({
  provider: z.string(),
  model: z.string().nullable(),
  summary: z.string(),
  keyPoints: z.array(z.string()),
  tags: z.array(z.string()),
  lang: z.string().nullable(),
  createdAt: Timestamp,
});

export const ArchiveView = z.object({
  id: ArchiveId,
  url: z.string(),
  finalUrl: z.string().nullable(),
  canonicalUrl: z.string().nullable(),
  httpStatus: z.int().nullable(),
  status: ArchiveStatus,
  title: z.string().nullable(),
  siteName: z.string().nullable(),
  byline: z.string().nullable(),
  lang: z.string().nullable(),
  excerpt: z.string().nullable(),
  wordCount: z.int().nullable(),
  faviconUrl: z.string().nullable(),
  warnings: z.array(z.string()),
  /** The summary's tags until the owner edits them (PATCH), then the owner's. */
  tags: z.array(z.string()),
  /** The owner's note (PATCH), plain text. */
  note: z.string().nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  version: z.int(),
  artifacts: z.array(ArtifactView),
  summary: SummaryView.nullable(),
  links: Links,
});

export const ArchiveListItem = z.object({
  id: ArchiveId,
  url: z.string(),
  finalUrl: z.string().nullable(),
  status: ArchiveStatus,
  title: z.string().nullable(),
  excerpt: z.string().nullable(),
  siteName: z.string().nullable(),
  /** The URL's host without `www.`: what the `site` filter matches. */
  site: z.string().nullable(),
  tags: z.array(z.string()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  version: z.int(),
  /** thumbnail: the small image's artifact route, or null while there is none. */
  links: z.object({ self: z.string(), thumbnail: z.string().nullable() }),
  /** Search only: relevance (higher first) and an extract whose only markup is <mark>…</mark> (text escaped). */
  rank: z.number().optional(),
  snippet: z.string().optional(),
});

export const ArchiveList = z.object({ items: z.array(ArchiveListItem), nextCursor: z.string().nullable() });

export const SubmitAnswer = z.object({
  id: ArchiveId,
  url: z.string(),
  status: ArchiveStatus,
  /** true: a snapshot of the same URL in progress or recent enough was returned instead of a new one. */
  deduplicated: z.boolean(),
  /** Present on a replay of an earlier request with the same Idempotency-Key. */
  idempotentReplay: z.literal(true).optional(),
  links: Links,
});

export const RetryAnswer = z.object({ id: ArchiveId, status: ArchiveStatus, retried: z.array(Format), links: Links });
export const SummaryAnswer = z.object({ id: ArchiveId, summary: z.enum(['dispatched', 'duplicate', 'unchanged']) });
export const SharePath = z.object({ id: ArchiveId, token: z.string().min(1).max(200) });
export const SharedPath = z.object({ token: z.string().min(1).max(200) });
export const SharedArtifactPath = z.object({ token: z.string().min(1).max(200), format: ArtifactFormat });
export const ShareAnswer = z.object({
  /** The link's id (sl_…), for listing; the token itself is shown only here, once. */
  id: z.string(),
  archiveId: ArchiveId,
  token: z.string(),
  /** Where the archive opens without an account: this path on the server. */
  url: z.string(),
  createdAt: Timestamp,
});
/** What a share link opens: the archive view, read-only (no retry or summary links). */
export const SharedArchive = ArchiveView.omit({ links: true }).extend({
  links: z.object({ self: z.string(), artifacts: z.partialRecord(ArtifactFormat, z.string()) }),
});

/** Loose: the deployable adds its own readiness fields (mode, monolith, redis, ...). */
export const Health = z.looseObject({ status: z.literal('ok') });
export const OpenApiDocument = z.looseObject({ openapi: z.literal('3.1.0'), paths: z.record(z.string(), z.unknown()) });

/** RFC 9457 problem details; loose because a problem may carry extension members. */
export const ProblemBody = z.looseObject({
  type: z.string().regex(/^urn:htbase:problem:[a-z0-9-]+$/),
  title: z.string(),
  status: z.int().min(400).max(599),
  detail: z.string().optional(),
});
export const ArtifactNotReadyProblem = ProblemBody.extend({
  artifactStatus: ArtifactStatus,
  errorCode: z.string().nullable(),
});

/** Logged-in capture (routes/cookies.ts): the sites a user has cookies for; values never leave the server. */
export const CookieSite = z.object({
  domain: z.string(),
  cookies: z.int(),
  expiresAt: Timestamp.nullable(),
  updatedAt: Timestamp,
});
export const CookieSites = z.object({ sites: z.array(CookieSite) });
export const CookieUploadAnswer = z.object({
  sites: z.array(CookieSite),
  /** The domains whose stored cookies this upload replaced. */
  replaced: z.array(z.string()),
  /** Lines (cookies.txt, 1-based) or entries (JSON, 0-based) left out, and why. */
  rejected: z.array(z.object({ at: z.int(), reason: z.string() })),
});
export const CookieDomainPath = z.object({ domain: z.string() });
export type CookieSiteJson = z.infer<typeof CookieSite>;

export type ArchiveViewJson = z.infer<typeof ArchiveView>;
export type ArtifactViewJson = z.infer<typeof ArtifactView>;
export type SummaryViewJson = z.infer<typeof SummaryView>;
export type ArchiveListItemJson = z.infer<typeof ArchiveListItem>;
export type ArchiveListJson = z.infer<typeof ArchiveList>;
export type LinksJson = z.infer<typeof Links>;
export type SubmitAnswerJson = z.infer<typeof SubmitAnswer>;
export type RetryAnswerJson = z.infer<typeof RetryAnswer>;
export type SummaryAnswerJson = z.infer<typeof SummaryAnswer>;
export type ShareAnswerJson = z.infer<typeof ShareAnswer>;
export type SharedArchiveJson = z.infer<typeof SharedArchive>;

/** The named schemas of the document's components: requests are rendered as zod input, responses as output. */
export const requestComponents = { Format: FormatName, SubmitBody, RetryBody, SummaryBody, NotesBody };
export const responseComponents = {
  Format,
  ArtifactFormat,
  ArchiveStatus,
  ArtifactStatus,
  Links,
  Artifact: ArtifactView,
  Summary: SummaryView,
  Archive: ArchiveView,
  ArchiveListItem,
  ArchiveList,
  SubmitAnswer,
  RetryAnswer,
  SummaryAnswer,
  ShareAnswer,
  SharedArchive,
  Health,
  OpenApiDocument,
  Problem: ProblemBody,
  ArtifactNotReady: ArtifactNotReadyProblem,
  CookieSite,
  CookieSites,
  CookieUploadAnswer,
  ...importResponseComponents,
};
