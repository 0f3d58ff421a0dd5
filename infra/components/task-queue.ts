// TaskQueue: the Cloud Tasks queue between functions/summarize and the Gemini task handler. Its rate and
// concurrency are the real quota guard: however many objects land at once, Gemini sees at most this.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';

export interface TaskQueueArgs {
  prefix: string;
  region: string;
  ratePerSecond: number;
  maxConcurrent: number;
  maxAttempts: number;
}

export class TaskQueue extends pulumi.ComponentResource {
  readonly queue: gcp.cloudtasks.Queue;

  constructor(name: string, args: TaskQueueArgs, opts?: pulumi.ComponentResourceOptions) {
    super('htbase:infra:TaskQueue', name, {}, opts);
    this.queue = new gcp.cloudtasks.Queue(
      `${name}-queue`,
      {
        name: `${args.prefix}-summaries`,
        location: args.region,
        rateLimits: { maxDispatchesPerSecond: args.ratePerSecond, maxConcurrentDispatches: args.maxConcurrent },
        retryConfig: {
          maxAttempts: args.maxAttempts,
          // 429s from Gemini clear in tens of seconds; back off from 10 s to 5 min.
          minBackoff: '10s',
          maxBackoff: '300s',
          maxDoublings: 4,
          maxRetryDuration: '3600s',
        },
        stackdriverLoggingConfig: { samplingRatio: 0.1 },
      },
      { parent: this },
    );
    this.registerOutputs({ queue: this.queue.name });
  }
}
