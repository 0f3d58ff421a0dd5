// ServiceAgents: the Google-managed service agents the stack grants roles to or relies on (Pub/Sub for dead
// letters and push tokens, Eventarc for triggers), created explicitly: in a new project Google makes them
// lazily, on first use, so a grant to one (or a trigger needing one) can fail on the first `pulumi up`.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';

export interface ServiceAgentsArgs {
  project: string;
}

export class ServiceAgents extends pulumi.ComponentResource {
  readonly pubsub: gcp.projects.ServiceIdentity;
  readonly eventarc: gcp.projects.ServiceIdentity;

  constructor(name: string, args: ServiceAgentsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('htbase:infra:ServiceAgents', name, {}, opts);
    const agent = (service: string) =>
      new gcp.projects.ServiceIdentity(
        `${name}-${service.split('.')[0]}`,
        { project: args.project, service },
        { parent: this },
      );
    this.pubsub = agent('pubsub.googleapis.com');
    this.eventarc = agent('eventarc.googleapis.com');
    this.registerOutputs({ pubsub: this.pubsub.email, eventarc: this.eventarc.email });
  }
}
