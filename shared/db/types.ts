// The typed shape of the Postgres schema (kept in step with shared/db/migrations).
import type { ColumnType, Generated, Insertable, Kysely, Selectable, Transaction, Updateable } from 'kysely';

export type ArticleStatus = 'pending' | 'running' | 'complete' | 'partial' | 'failed';
export type ArtifactStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type BigIntNumber = ColumnType<number, number | string | bigint | undefined, number | string | bigint>;

export interface ArticleTable {
  id: string;
  url: string;
  normalized_url: string;
  final_url: string | null;
  canonical_url: string | null;
  http_status: number | null;
  title: string | null;
  site_name: string | null;
  byline: string | null;
  lang: string | null;
  excerpt: string | null;
  favicon_url: string | null;
  word_count: number | null;
  text_content: string | null;
  warnings: ColumnType<string[], string[] | undefined, string[]>;
  status: ArticleStatus;
  version: BigIntNumber;
  idempotency_key: string | null;
  owner_id: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** The text search configuration chosen from `lang` by a trigger (migration 0005); reads back as its name. */
  search_config: ColumnType<string, never, never>;
  /** The summary's tags until the owner edits them (tags_edited), then the owner's (migration 0007). */
  tags: ColumnType<string[], string[] | undefined, string[]>;
  tags_edited: ColumnType<boolean, boolean | undefined, boolean>;
  note: ColumnType<string | null, string | null | undefined, string | null>;
  /** The URL's host without `www.`, generated from normalized_url (the library's site filter). */
  site: ColumnType<string | null, never, never>;
}

export interface ArtifactTable {
  id: Generated<string>;
  article_id: string;
  format: string;
  status: ArtifactStatus;
  attempts: ColumnType<number, number | undefined, number>;
  lease_until: Date | null;
  storage_key: string | null;
  content_type: string | null;
  size_bytes: BigIntNumber | null;
  sha256: string | null;
  error_code: string | null;
  error_message: string | null;
  engine_version: string | null;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface SummaryTable {
  article_id: string;
  provider: string;
  model: string | null;
  summary: string;
  key_points: ColumnType<string[], string[] | string, string[] | string>;
  tags: ColumnType<string[], string[] | string, string[] | string>;
  lang: string | null;
  input_sha256: string;
  input_tokens: number | null;
  output_tokens: number | null;
  created_at: Timestamp;
}

/** The last permanent summary failure per article (migration 0002); a success clears it. */
export interface SummaryFailureTable {
  article_id: string;
  provider: string;
  model: string | null;
  code: string;
  message: string;
  input_sha256: string;
  created_at: Timestamp;
}

export interface ProcessedEventTable {
  id: string;
  kind: string;
  created_at: Timestamp;
}

export type Role = 'admin' | 'member';
export type KeyScope = 'read' | 'write';

export interface UserTable {
  id: Generated<string>;
  name: string;
  email: string | null;
  firebase_uid: string | null;
  role: ColumnType<Role, Role | undefined, Role>;
  created_at: Timestamp;
}

export interface ApiKeyTable {
  id: string;
  name: string;
  key_hash: string;
  user_id: string;
  scope: ColumnType<KeyScope, KeyScope | undefined, KeyScope>;
  expires_at: Date | null;
  last_used_at: Date | null;
  created_at: Timestamp;
  revoked_at: Date | null;
}

export interface ShareLinkTable {
  id: string;
  token_hash: string;
  article_id: string;
  owner_id: string;
  created_at: Timestamp;
  revoked_at: Date | null;
}

/** Sliding-window rate limits (shared/adapters/pg-rate-limiter.ts); int8[] reads back as strings. */
export interface RateLimitTable {
  key: string;
  hits: ColumnType<string[], number[] | undefined, number[]>;
  allowed: boolean;
  expires_ms: BigIntNumber;
}

/** An uploaded import file (migration 0008). */
export interface ImportTable {
  id: string;
  owner_id: string;
  format: string;
  filename: string | null;
  formats: ColumnType<string[], string[], string[]>;
  total: number;
  merged: ColumnType<number, number | undefined, number>;
  created_at: Timestamp;
}

export type ImportItemState = 'waiting' | 'claimed' | 'queued' | 'archived' | 'duplicate' | 'failed';
/** One page (or bad line) of an import, with what the person's tool knew about it. */
export interface ImportItemTable {
  id: Generated<string>;
  import_id: string;
  position: number;
  line: number;
  merged_lines: ColumnType<number[], number[] | undefined, number[]>;
  url: string;
  normalized_url: string | null;
  host: string | null;
  title: string | null;
  saved_at: Date | null;
  tags: ColumnType<string[], string[] | undefined, string[]>;
  note: string | null;
  state: ImportItemState;
  reason: string | null;
  claimed_until: Date | null;
  article_id: string | null;
  queued_at: Date | null;
}

export interface Database {
  articles: ArticleTable;
  artifacts: ArtifactTable;
  summaries: SummaryTable;
  summary_failures: SummaryFailureTable;
  processed_events: ProcessedEventTable;
  api_keys: ApiKeyTable;
  rate_limits: RateLimitTable;
  users: UserTable;
  share_links: ShareLinkTable;
  imports: ImportTable;
  import_items: ImportItemTable;
}

export type Article = Selectable<ArticleTable>;
export type NewArticle = Insertable<ArticleTable>;
export type ArticleUpdate = Updateable<ArticleTable>;
export type Artifact = Selectable<ArtifactTable>;
export type NewArtifact = Insertable<ArtifactTable>;
export type Summary = Selectable<SummaryTable>;
export type SummaryFailure = Selectable<SummaryFailureTable>;
/** Repository reads run on the database or inside a caller's transaction. */
export type Db = Kysely<Database> | Transaction<Database>;
export type User = Selectable<UserTable>;
