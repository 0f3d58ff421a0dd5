// Registry: Artifact Registry Docker repositories, one for the worker images Cloud Build pushes and one
// for the images Cloud Functions builds from the source bundles, both with cleanup policies.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';

export interface RegistryArgs {
  prefix: string;
  region: string;
  project: string;
  /** Image versions kept per package; rollbacks can go back this far. */
  keepVersions: number;
}

export class Registry extends pulumi.ComponentResource {
  readonly images: gcp.artifactregistry.Repository;
  readonly functionImages: gcp.artifactregistry.Repository;
  /** `REGION-docker.pkg.dev/PROJECT/REPO`, the prefix Cloud Build tags images with. */
  readonly imagesUrl: pulumi.Output<string>;

  constructor(name: string, args: RegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super('htbase:infra:Registry', name, {}, opts);
    const cleanupPolicies: gcp.types.input.artifactregistry.RepositoryCleanupPolicy[] = [
      { id: 'keep-recent', action: 'KEEP', mostRecentVersions: { keepCount: args.keepVersions } },
      { id: 'drop-old', action: 'DELETE', condition: { olderThan: `${30 * 86_400}s` } },
    ];
    this.images = new gcp.artifactregistry.Repository(
      `${name}-images`,
      {
        repositoryId: args.prefix,
        location: args.region,
        format: 'DOCKER',
        description: 'HT Base worker images',
        cleanupPolicies,
      },
      { parent: this },
    );
    this.functionImages = new gcp.artifactregistry.Repository(
      `${name}-function-images`,
      {
        repositoryId: `${args.prefix}-functions`,
        location: args.region,
        format: 'DOCKER',
        description: 'HT Base function builds',
        cleanupPolicies,
      },
      { parent: this },
    );
    this.imagesUrl = pulumi.interpolate`${args.region}-docker.pkg.dev/${args.project}/${this.images.repositoryId}`;
    this.registerOutputs({ imagesUrl: this.imagesUrl });
  }
}
