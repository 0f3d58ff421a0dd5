// The JSON shapes of the API (camelCase everywhere), built from database rows. Each serializer's return type is
// the z.infer of its schema in schemas.ts, the one /openapi.json is rendered from, so neither can drift alone.
import type { Article, Artifact, Summary } from '../../shared/db/types.ts';
import type { ArticleView } from '../../shared/db/articles.ts';
import { summaryFields } from '../../shared/db/summaries.ts';
import type { ArchiveListItemJson, ArchiveViewJson, ArtifactViewJson, LinksJson, SummaryViewJson } from './schemas.ts';

// artifacts.format is plain text in the row type; only the repository writes it, from ArtifactFormat values.
type ArtifactFormatName = ArtifactViewJson['format'];

export function links(base: string, a: Pick<Article, 'id'>, formats: string[]): LinksJson {
  const self = `${base}/archives/${a.id}`;
  return {
    self,
    retry: `${self}/retry`,
    summary: `${self}/summary`,
    artifacts: Object.fromEntries(formats.map((f) => [f, `${self}/artifacts/${f}`])),
  };
}

export function artifactJson(x: Artifact): ArtifactViewJson {
  return {
    format: x.format as ArtifactFormatName,
    status: x.status,
    contentType: x.content_type,
    sizeBytes: x.size_bytes === null ? null : Number(x.size_bytes),
    sha256: x.sha256,
    errorCode: x.error_code,
    errorMessage: x.error_message,
    attempts: x.attempts,
    engineVersion: x.engine_version,
    startedAt: x.started_at?.toISOString() ?? null,
    finishedAt: x.finished_at?.toISOString() ?? null,
  };
}

export function summaryJson(s: Summary | undefined): SummaryViewJson | null {
  if (!s) return null;
  return {
    ...summaryFields(s),
    createdAt: new Date(s.created_at).toISOString(),
  };
}

export function articleJson(
  base: string,
  a: ArticleView,
  artifacts: Artifact[],
  summary: Summary | undefined,
): ArchiveViewJson {
  // The thumbnail is the library's picture, not a capture anyone asked for: the list links it (links.thumbnail),
  // the artifacts array keeps to the formats requested (and `original`), as before it existed.
  const shown = artifacts.filter((x) => x.format !== 'thumbnail');
  return {
    id: a.id,
    url: a.url,
    finalUrl: a.final_url,
    canonicalUrl: a.canonical_url,
    httpStatus: a.http_status,
    status: a.status,
    title: a.title,
    siteName: a.site_name,
    byline: a.byline,
    lang: a.lang,
    excerpt: a.excerpt,
    wordCount: a.word_count,
    faviconUrl: a.favicon_url,
    warnings: a.warnings,
    tags: a.tags ?? [],
    note: a.note ?? null,
    createdAt: new Date(a.created_at).toISOString(),
    updatedAt: new Date(a.updated_at).toISOString(),
    version: Number(a.version),
    artifacts: shown.map(artifactJson),
    summary: summaryJson(summary),
    links: links(
      base,
      a,
      shown.map((x) => x.format),
    ),
  };
}

export function articleListItem(
  base: string,
  a: ArticleView & { rank?: number; snippet?: string },
  hasThumbnail = false,
): ArchiveListItemJson {
  return {
    ...(a.rank !== undefined ? { rank: a.rank } : {}),
    ...(a.snippet !== undefined ? { snippet: a.snippet } : {}),
    id: a.id,
    url: a.url,
    finalUrl: a.final_url,
    status: a.status,
    title: a.title,
    excerpt: a.excerpt,
    siteName: a.site_name,
    site: a.site ?? null,
    tags: a.tags ?? [],
    createdAt: new Date(a.created_at).toISOString(),
    updatedAt: new Date(a.updated_at).toISOString(),
    version: Number(a.version),
    links: {
      self: `${base}/archives/${a.id}`,
      thumbnail: hasThumbnail ? `${base}/archives/${a.id}/artifacts/thumbnail` : null,
    },
  };
}
