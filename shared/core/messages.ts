// Versioned message schemas: the one place producers and consumers agree on what travels on a topic.
import { z } from 'zod';
import { FORMATS } from './formats.ts';

export const TOPICS = {
  captureBrowser: 'capture-browser',
  captureMonolith: 'capture-monolith',
  articleChanged: 'article-changed',
  captureBrowserDead: 'capture-browser-dead',
  captureMonolithDead: 'capture-monolith-dead',
  articleChangedDead: 'article-changed-dead',
} as const;
/**
 * Topics of the one-VPS deployment only (the Postgres job queue): in the cloud, Eventarc carries object-finalized
 * events and Cloud Tasks the summary tasks, so Pub/Sub and infra create TOPICS alone.
 */
export const QUEUE_TOPICS = {
  objectFinalized: 'object-finalized',
  summaryTasks: 'summary-tasks',
} as const;
export type TopicName = (typeof TOPICS)[keyof typeof TOPICS] | (typeof QUEUE_TOPICS)[keyof typeof QUEUE_TOPICS];

export const CaptureJobV1 = z.object({
  v: z.literal(1),
  articleId: z.string().uuid(),
  url: z.string().url(),
  formats: z.array(z.enum(FORMATS)).min(1),
  /** Why this job exists: first request, explicit retry, or the stuck-work sweeper. */
  reason: z.enum(['submit', 'retry', 'sweep']).default('submit'),
  requestedAt: z.string().datetime(),
});
export type CaptureJob = z.infer<typeof CaptureJobV1>;

export const ArticleChangedV1 = z.object({
  v: z.literal(1),
  articleId: z.string().uuid(),
  version: z.number().int().nonnegative(),
  deleted: z.boolean().default(false),
});
export type ArticleChanged = z.infer<typeof ArticleChangedV1>;

/**
 * What each topic carries: the name picks the payload type, so `publish` cannot send the wrong one.
 * A dead-letter topic carries the message that its source topic could not deliver.
 */
export interface TopicPayloads {
  'capture-browser': CaptureJob;
  'capture-monolith': CaptureJob;
  'article-changed': ArticleChanged;
  'capture-browser-dead': CaptureJob;
  'capture-monolith-dead': CaptureJob;
  'article-changed-dead': ArticleChanged;
  'object-finalized': ObjectFinalizedEvent;
  'summary-tasks': SummaryTask;
}

/** Pub/Sub push body. The emulator sends both camelCase and snake_case keys; we read camelCase. */
export const PushEnvelope = z.object({
  message: z.object({
    data: z.string().default(''),
    attributes: z.record(z.string(), z.string()).nullish(),
    messageId: z.string().optional(),
    message_id: z.string().optional(),
    publishTime: z.string().optional(),
  }),
  subscription: z.string().optional(),
  deliveryAttempt: z.number().int().optional(),
});
export type PushEnvelope = z.infer<typeof PushEnvelope>;

export interface DecodedPush<T> {
  data: T;
  messageId: string;
  attributes: Record<string, string>;
  deliveryAttempt?: number;
}

export class BadMessage extends Error {
  override name = 'BadMessage';
}

/** Decodes and validates a push body; throws BadMessage for anything malformed (a poison message). */
export function decodePush<S extends z.ZodTypeAny>(schema: S, body: unknown): DecodedPush<z.infer<S>> {
  const env = PushEnvelope.safeParse(body);
  if (!env.success) throw new BadMessage(`not a Pub/Sub push envelope: ${env.error.issues[0]?.message}`);
  const m = env.data.message;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(m.data, 'base64').toString('utf8'));
  } catch {
    throw new BadMessage('message data is not base64 JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new BadMessage(`message does not match schema: ${parsed.error.issues[0]?.message}`);
  return {
    data: parsed.data,
    messageId: m.messageId ?? m.message_id ?? '',
    attributes: m.attributes ?? {},
    deliveryAttempt: env.data.deliveryAttempt,
  };
}

export function encodeData(data: unknown): Buffer {
  return Buffer.from(JSON.stringify(data), 'utf8');
}

/** A Cloud Tasks (or in-process queue) task asking for the summary of an article's readable text. */
export const SummaryTaskV1 = z.object({
  v: z.literal(1),
  articleId: z.string().uuid(),
  /** sha256 of the readable text when the task was created; the handler re-reads the current text. */
  inputSha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Summarize even if a summary of the same text exists. */
  force: z.boolean().default(false),
  reason: z.enum(['finalized', 'request']).default('finalized'),
  requestedAt: z.string().datetime(),
});
export type SummaryTask = z.infer<typeof SummaryTaskV1>;

/** An object landed in the artifact store (the Eventarc event, on the one-VPS queue). */
export const ObjectFinalizedV1 = z.object({
  eventId: z.string().min(1),
  bucket: z.string(),
  name: z.string().min(1),
  contentType: z.string().optional(),
  size: z.number().int().nonnegative(),
  metadata: z.record(z.string(), z.string()),
  time: z.string(),
});
export type ObjectFinalizedEvent = z.infer<typeof ObjectFinalizedV1>;
