// The JSON shapes of the API (camelCase everywhere), built from database rows.
import type { Article, Artifact, Summary } from '../../shared/db/types.ts';

export function links(base: string, a: Pick<Article, 'id'>, formats: string[]) {
  const self = `${base}/archives/${a.id}`;
  return {
    self,
    retry: `${self}/retry`,
    summary: `${self}/summary`,
    artifacts: Object.fromEntries(formats.map((f) => [f, `${self}/artifacts/${f}`])),
  };
}

export function artifactJson(x: Artifact) {
  return {
    format: x.format,
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

export function summaryJson(s: Summary | undefined) {
  if (!s) return null;
  return {
    provider: s.provider,
    model: s.model,
    summary: s.summary,
    keyPoints: s.key_points,
    tags: s.tags,
    lang: s.lang,
    createdAt: new Date(s.created_at).toISOString(),
  };
}

export function articleJson(base: string, a: Article, artifacts: Artifact[], summary: Summary | undefined) {
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
    createdAt: new Date(a.created_at).toISOString(),
    updatedAt: new Date(a.updated_at).toISOString(),
    version: Number(a.version),
    artifacts: artifacts.map(artifactJson),
    summary: summaryJson(summary),
    links: links(
      base,
      a,
      artifacts.map((x) => x.format),
    ),
  };
}

export function articleListItem(base: string, a: Article) {
  return {
    id: a.id,
    url: a.url,
    finalUrl: a.final_url,
    status: a.status,
    title: a.title,
    excerpt: a.excerpt,
    createdAt: new Date(a.created_at).toISOString(),
    updatedAt: new Date(a.updated_at).toISOString(),
    version: Number(a.version),
    links: { self: `${base}/archives/${a.id}` },
  };
}
