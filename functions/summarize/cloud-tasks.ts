// TaskQueue on Cloud Tasks (@google-cloud/tasks): one HTTP-target task per summary, named so that
// duplicates collapse (ALREADY_EXISTS -> 'duplicate'); the queue's rate and concurrency do the pacing.
import { CloudTasksClient } from '@google-cloud/tasks';
import type { Logger } from '../../shared/core/logger.ts';
import type { TaskQueue } from '../../shared/core/ports.ts';
import { TransientError } from '../../shared/core/errors.ts';

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
