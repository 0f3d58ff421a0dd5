// SweepSchedule: the Cloud Scheduler job that runs the stuck-work sweeper (functions/sweep) every few
// minutes, with an OIDC token of its own service account (the only identity allowed to invoke it).
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';

export interface SweepScheduleArgs {
  prefix: string;
  region: string;
  /** unix-cron, e.g. every 5 minutes. */
  schedule: string;
  timeZone: string;
  /** The sweep function's URL; also the token's audience (what SWEEP_AUDIENCE expects). */
  url: pulumi.Input<string>;
  /** The scheduler's identity in the OIDC token (SWEEP_INVOKER_SA). */
  serviceAccountEmail: pulumi.Input<string>;
}

export class SweepSchedule extends pulumi.ComponentResource {
  readonly job: gcp.cloudscheduler.Job;

  constructor(name: string, args: SweepScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
    super('htbase:infra:SweepSchedule', name, {}, opts);
    this.job = new gcp.cloudscheduler.Job(
      `${name}-job`,
      {
        name: `${args.prefix}-sweep`,
        region: args.region,
        description: 'Republishes artifacts pending or running past their lease (functions/sweep)',
        schedule: args.schedule,
        timeZone: args.timeZone,
        // A sweep is short; a failed run is retried once, and the next run comes in minutes anyway.
        attemptDeadline: '180s',
        retryConfig: { retryCount: 1, minBackoffDuration: '10s', maxBackoffDuration: '60s' },
        httpTarget: {
          uri: args.url,
          httpMethod: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: Buffer.from('{}').toString('base64'),
          oidcToken: { serviceAccountEmail: args.serviceAccountEmail, audience: args.url },
        },
      },
      { parent: this },
    );
    this.registerOutputs({ job: this.job.name });
  }
}
