// TaskQueue on Cloud Tasks (@google-cloud/tasks): one HTTP-target task per summary, named so that
// duplicates collapse (ALREADY_EXISTS -> 'duplicate'); the queue's rate and concurrency do the pacing.
// Also the queue's settings (SummaryTasksEnv), read by every enqueuer (summarize, the API) and the handler.
import { CloudTasksClient } from '@google-cloud/tasks';
import { z } from 'zod';
import { int, optStr } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { TaskQueue } from '../core/ports.ts';
import { TransientError } from '../core/errors.ts';

/** The Cloud Tasks queue summaries go through; the enqueuers (summarize, the API) and the handler read it. */
export const SummaryTasksEnv = z.object({
  /** Cloud Tasks queue that paces summaries; its rate and concurrency live in the infrastructure. */
  CLOUD_TASKS_QUEUE: z.string().min(1).default('summaries'),
  CLOUD_TASKS_LOCATION: z.string().min(1).default('us-central1'),
  /** host:port of a Cloud Tasks REST endpoint (the fake in tests); unset: the real service. */
  CLOUD_TASKS_API_ENDPOINT: optStr,
  /** URL of the summarizeTask function (the task's HTTP target); unset in the API: no summary requests. */
  SUMMARY_TASK_URL: z.string().url().optional(),
  /** Service account Cloud Tasks signs the OIDC token as (the invoker of summarizeTask). */
  SUMMARY_TASK_SERVICE_ACCOUNT: optStr,
  /** Must match the queue's retryConfig.maxAttempts: on the last one a transient failure is recorded. */
  SUMMARY_TASK_MAX_ATTEMPTS: int(5, 1),
});
export type SummaryTasksEnv = z.infer<typeof SummaryTasksEnv>;

/** The queue settings once they name a target and a project: what createSummaryTaskQueue needs. */
export type SummaryTasksConfig = SummaryTasksEnv & { SUMMARY_TASK_URL: string; GOOGLE_CLOUD_PROJECT: string };

/**
 * The cross-field rule of SummaryTasksEnv, for the superRefine of a schema that extends its shape (refinements
 * do not survive `.extend`): a task target needs the project its queue lives in.
 */
export function summaryTasksRule(
  cfg: Partial<SummaryTasksEnv> & { GOOGLE_CLOUD_PROJECT?: string },
  ctx: z.RefinementCtx,
): void {
  if (cfg.SUMMARY_TASK_URL && !cfg.GOOGLE_CLOUD_PROJECT)
    ctx.addIssue({
      code: 'custom',
      path: ['GOOGLE_CLOUD_PROJECT'],
      message: 'GOOGLE_CLOUD_PROJECT is required for Cloud Tasks',
    });
}

/** Whether a config that may leave the queue out (the API's) has it; summaryTasksRule checked the pair. */
export function hasSummaryTasks<C extends SummaryTasksEnv & { GOOGLE_CLOUD_PROJECT?: string }>(
  cfg: C,
): cfg is C & SummaryTasksConfig {
  return !!cfg.SUMMARY_TASK_URL && !!cfg.GOOGLE_CLOUD_PROJECT;
}

export interface CloudTasksQueueOptions {
  /** A preconfigured client (tests: the REST fallback against the fake); default: ADC. */
  client?: CloudTasksClient;
  project: string;
  location: string;
  queue: string;
  /** The summarizeTask function's URL. */
  handlerUrl: string;
  /** Service account whose OIDC token Cloud Tasks attaches (the handler's invoker). */
  serviceAccountEmail?: string;
  /** OIDC audience; defaults to the handler URL. */
  audience?: string;
  /** How long Cloud Tasks waits for the handler (map-reduce over a long article takes a while). */
  dispatchDeadlineSeconds?: number;
  /** Bound on the createTask call. */
  timeoutMs?: number;
  logger: Logger;
}

/** gRPC answers code 6; the REST fallback surfaces the HTTP 409 instead. */
export function isAlreadyExists(err: unknown): boolean {
  const e = err as { code?: unknown; status?: unknown };
  return e?.code === 6 || e?.code === 409 || e?.status === 409 || e?.code === 'ALREADY_EXISTS';
}

export function createCloudTasksQueue(opts: CloudTasksQueueOptions): TaskQueue {
  const client = opts.client ?? new CloudTasksClient({ projectId: opts.project });
  const parent = client.queuePath(opts.project, opts.location, opts.queue);
  const log = opts.logger.child({ component: 'cloud-tasks' });
  return {
    async enqueue({ name, payload }) {
      const task = {
        name: client.taskPath(opts.project, opts.location, opts.queue, name),
        dispatchDeadline: { seconds: opts.dispatchDeadlineSeconds ?? 600 },
        httpRequest: {
          url: opts.handlerUrl,
          httpMethod: 'POST' as const,
          headers: { 'Content-Type': 'application/json' },
          body: Buffer.from(JSON.stringify(payload), 'utf8'),
          ...(opts.serviceAccountEmail
            ? {
                oidcToken: {
                  serviceAccountEmail: opts.serviceAccountEmail,
                  audience: opts.audience ?? opts.handlerUrl,
                },
              }
            : {}),
        },
      };
      try {
        await client.createTask({ parent, task }, { timeout: opts.timeoutMs ?? 10_000 });
        log.info({ task: name }, 'task created');
        return 'created';
      } catch (err) {
        if (isAlreadyExists(err)) {
          log.info({ task: name }, 'task already exists');
          return 'duplicate';
        }
        throw new TransientError('tasks_unavailable', 'could not create the summary task', { cause: err });
      }
    },
  };
}

/** The summaries queue the settings describe, on `client` (shared/adapters/deps.ts makes it per endpoint). */
export function createSummaryTaskQueue(
  cfg: Readonly<SummaryTasksConfig>,
  client: CloudTasksClient,
  logger: Logger,
): TaskQueue {
  return createCloudTasksQueue({
    client,
    project: cfg.GOOGLE_CLOUD_PROJECT,
    location: cfg.CLOUD_TASKS_LOCATION,
    queue: cfg.CLOUD_TASKS_QUEUE,
    handlerUrl: cfg.SUMMARY_TASK_URL,
    serviceAccountEmail: cfg.SUMMARY_TASK_SERVICE_ACCOUNT,
    logger,
  });
}
