// Apis: turns on every Google Cloud API the deployment uses, so `pulumi up` works on an empty project.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';

/** The services HT Base calls or provisions; aiplatform only when Gemini runs through Vertex AI. */
export const REQUIRED_APIS = [
  'artifactregistry.googleapis.com',
  'cloudbuild.googleapis.com',
  'cloudfunctions.googleapis.com',
  'cloudscheduler.googleapis.com', // the sweeper's schedule
  'cloudtasks.googleapis.com',
  'compute.googleapis.com',
  'eventarc.googleapis.com',
  'firebaserules.googleapis.com',
  'firestore.googleapis.com',
  'iam.googleapis.com',
  'iamcredentials.googleapis.com', // signBlob for V4 signed URLs without a key file
  'logging.googleapis.com',
  'pubsub.googleapis.com',
  'redis.googleapis.com',
  'run.googleapis.com',
  'secretmanager.googleapis.com',
  'servicenetworking.googleapis.com',
  'sqladmin.googleapis.com',
  'storage.googleapis.com',
] as const;

export interface ApisArgs {
  project: string;
  /** Adds aiplatform.googleapis.com (Gemini in Vertex AI mode). */
  vertex: boolean;
}

export class Apis extends pulumi.ComponentResource {
  readonly services: gcp.projects.Service[];

  constructor(name: string, args: ApisArgs, opts?: pulumi.ComponentResourceOptions) {
    super('htbase:infra:Apis', name, {}, opts);
    const list: string[] = [...REQUIRED_APIS, ...(args.vertex ? ['aiplatform.googleapis.com'] : [])];
    this.services = list.map(
      (service) =>
        new gcp.projects.Service(
          `${name}-${service.split('.')[0]}`,
          // Keep APIs on when the stack goes: other things in the project may use them.
          { project: args.project, service, disableOnDestroy: false, disableDependentServices: false },
          { parent: this },
        ),
    );
    this.registerOutputs({ services: list });
  }
}
