// PushWorker: a Cloud Run v2 service that receives Pub/Sub push (POST /pubsub/push, /pubsub/dead-letter).
// Internal ingress, IAM-checked: only the push identity may invoke it; the app re-verifies the OIDC token.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import type { Env, SecretEnv, VpcEgress } from './env.ts';

export interface PushWorkerArgs {
  /** Service name (also the Cloud Run service id). */
  serviceName: string;
  region: string;
  image: pulumi.Input<string>;
  serviceAccountEmail: pulumi.Input<string>;
  cpu: string;
  memory: string;
  /** Requests per instance; 1 for the browser (one Chromium capture at a time). */
  concurrency: number;
  minInstances: number;
  maxInstances: number;
  /** Request timeout; must exceed the capture limit so a capture is never cut off by Cloud Run. */
  timeoutSeconds: number;
  /** Audience the push OIDC token is minted for; Cloud Run accepts it through customAudiences. */
  audience: string;
  env: Env;
  secretEnv: SecretEnv;
  vpc: VpcEgress;
}

export class PushWorker extends pulumi.ComponentResource {
  readonly service: gcp.cloudrunv2.Service;
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: PushWorkerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('htbase:infra:PushWorker', name, {}, opts);
    const envs: gcp.types.input.cloudrunv2.ServiceTemplateContainerEnv[] = [
      ...Object.entries(args.env).map(([name, value]) => ({ name, value })),
      ...Object.entries(args.secretEnv).map(([name, s]) => ({
        name,
        valueSource: { secretKeyRef: { secret: s.secret, version: s.version } },
      })),
    ];
    this.service = new gcp.cloudrunv2.Service(
      `${name}-service`,
      {
        name: args.serviceName,
        location: args.region,
        // Pub/Sub push counts as internal traffic; nothing on the internet can reach the workers.
        ingress: 'INGRESS_TRAFFIC_INTERNAL_ONLY',
        invokerIamDisabled: false,
        customAudiences: [args.audience],
        deletionProtection: false,
        template: {
          serviceAccount: args.serviceAccountEmail,
          // Second generation: full Linux compatibility for Chromium, and needed for Direct VPC egress.
          executionEnvironment: 'EXECUTION_ENVIRONMENT_GEN2',
          timeout: `${args.timeoutSeconds}s`,
          maxInstanceRequestConcurrency: args.concurrency,
          scaling: { minInstanceCount: args.minInstances, maxInstanceCount: args.maxInstances },
          vpcAccess: {
            egress: 'PRIVATE_RANGES_ONLY',
            networkInterfaces: [{ network: args.vpc.network, subnetwork: args.vpc.subnetwork, tags: args.vpc.tags }],
          },
          containers: [
            {
              image: args.image,
              ports: { containerPort: 8080 },
              envs,
              // CPU only while a request is in flight: push delivery is a request, so nothing runs idle.
              resources: { limits: { cpu: args.cpu, memory: args.memory }, cpuIdle: true, startupCpuBoost: true },
              startupProbe: { tcpSocket: { port: 8080 }, periodSeconds: 2, failureThreshold: 30 },
            },
          ],
        },
      },
      { parent: this },
    );
    this.url = this.service.uri;
    this.registerOutputs({ url: this.url });
  }
}
