// HttpFunction / EventFunction: Cloud Functions (2nd gen) built from a source bundle in the source bucket
// (made by `npm run build:functions`). HTTP ones are private unless `public`; event ones carry an Eventarc trigger.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import type { Env, SecretEnv, VpcEgress } from './env.ts';

export interface FunctionArgs {
  functionName: string;
  region: string;
  project: string;
  /** Functions Framework target exported by the bundle. */
  entryPoint: string;
  source: { bucket: pulumi.Input<string>; object: pulumi.Input<string> };
  serviceAccountEmail: pulumi.Input<string>;
  /** Identity Cloud Build uses to build the bundle (instead of the default compute account). */
  buildServiceAccountId: pulumi.Input<string>;
  /** Artifact Registry repository id for the built images. */
  dockerRepository: pulumi.Input<string>;
  memory: string;
  cpu: string;
  concurrency: number;
  maxInstances: number;
  timeoutSeconds: number;
  env: Env;
  secretEnv: SecretEnv;
  /** Direct VPC egress for functions that reach Cloud SQL or Redis. */
  vpc?: VpcEgress;
}

export interface HttpFunctionArgs extends FunctionArgs {
  /**
   * true: reachable from the internet and invokable by allUsers; the function's own auth (API keys, ID
   * tokens) is the gate. false: internal ingress, invokable only by IAM grants (Pub/Sub, Cloud Tasks).
   */
  public: boolean;
}

export interface EventFunctionArgs extends FunctionArgs {
  trigger: {
    eventType: string;
    filters: { attribute: string; value: pulumi.Input<string> }[];
    serviceAccountEmail: pulumi.Input<string>;
  };
}

function makeFunction(
  name: string,
  args: FunctionArgs,
  ingress: string,
  eventTrigger: gcp.types.input.cloudfunctionsv2.FunctionEventTrigger | undefined,
  opts: pulumi.CustomResourceOptions,
): gcp.cloudfunctionsv2.Function {
  return new gcp.cloudfunctionsv2.Function(
    name,
    {
      name: args.functionName,
      location: args.region,
      project: args.project,
      buildConfig: {
        runtime: 'nodejs22',
        entryPoint: args.entryPoint,
        source: { storageSource: { bucket: args.source.bucket, object: args.source.object } },
        serviceAccount: args.buildServiceAccountId,
        dockerRepository: args.dockerRepository,
      },
      serviceConfig: {
        serviceAccountEmail: args.serviceAccountEmail,
        availableMemory: args.memory,
        availableCpu: args.cpu,
        maxInstanceRequestConcurrency: args.concurrency,
        minInstanceCount: 0,
        maxInstanceCount: args.maxInstances,
        timeoutSeconds: args.timeoutSeconds,
        ingressSettings: ingress,
        allTrafficOnLatestRevision: true,
        environmentVariables: args.env,
        secretEnvironmentVariables: Object.entries(args.secretEnv).map(([key, s]) => ({
          key,
          projectId: args.project,
          secret: s.secret,
          version: s.version,
        })),
        ...(args.vpc
          ? {
              directVpcEgress: 'VPC_EGRESS_PRIVATE_RANGES_ONLY',
              directVpcNetworkInterfaces: [
                { network: args.vpc.network, subnetwork: args.vpc.subnetwork, tags: args.vpc.tags },
              ],
            }
          : {}),
      },
      eventTrigger,
    },
    opts,
  );
}

export class HttpFunction extends pulumi.ComponentResource {
  readonly fn: gcp.cloudfunctionsv2.Function;
  /** The run.app URL: push endpoints and OIDC audiences use it. */
  readonly url: pulumi.Output<string>;
  /** The Cloud Run service behind the function (same name), for run.invoker grants. */
  readonly serviceName: pulumi.Output<string>;

  constructor(name: string, args: HttpFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super('htbase:infra:HttpFunction', name, {}, opts);
    this.fn = makeFunction(`${name}-fn`, args, args.public ? 'ALLOW_ALL' : 'ALLOW_INTERNAL_ONLY', undefined, {
      parent: this,
    });
    this.url = this.fn.serviceConfig.apply((s) => s?.uri ?? '');
    this.serviceName = this.fn.name;
    if (args.public) {
      // Deliberately public: the API authenticates every request itself (Bearer API key or Google ID token).
      new gcp.cloudrunv2.ServiceIamMember(
        `${name}-public`,
        {
          project: args.project,
          location: args.region,
          name: this.fn.name,
          role: 'roles/run.invoker',
          member: 'allUsers',
        },
        { parent: this },
      );
    }
    this.registerOutputs({ url: this.url });
  }
}

export class EventFunction extends pulumi.ComponentResource {
  readonly fn: gcp.cloudfunctionsv2.Function;
  readonly serviceName: pulumi.Output<string>;

  constructor(name: string, args: EventFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super('htbase:infra:EventFunction', name, {}, opts);
    this.fn = makeFunction(
      `${name}-fn`,
      args,
      'ALLOW_INTERNAL_ONLY',
      {
        eventType: args.trigger.eventType,
        triggerRegion: args.region,
        eventFilters: args.trigger.filters,
        serviceAccountEmail: args.trigger.serviceAccountEmail,
        // A thrown error answers 500 and Eventarc retries (the handler is idempotent on the event id).
        retryPolicy: 'RETRY_POLICY_RETRY',
      },
      { parent: this },
    );
    this.serviceName = this.fn.name;
    this.registerOutputs({ name: this.fn.name });
  }
}
