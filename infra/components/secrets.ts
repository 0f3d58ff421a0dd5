// StoredSecret: one Secret Manager secret and its current version. Deployables reference the version
// (not "latest"), so a new value rolls out as a new revision and a rollback restores the old one.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';

export interface StoredSecretArgs {
  secretId: string;
  /** The value; always treated as a Pulumi secret (encrypted in state, masked in logs). */
  value: pulumi.Input<string>;
  protect?: boolean;
}

export class StoredSecret extends pulumi.ComponentResource {
  readonly secret: gcp.secretmanager.Secret;
  readonly version: gcp.secretmanager.SecretVersion;
  /** Short secret id, as the Cloud Run / functions secret references want it. */
  readonly secretId: pulumi.Output<string>;
  /** Version number as a string ("1", "2", ...). */
  readonly versionNumber: pulumi.Output<string>;

  constructor(name: string, args: StoredSecretArgs, opts?: pulumi.ComponentResourceOptions) {
    super('htbase:infra:StoredSecret', name, {}, opts);
    this.secret = new gcp.secretmanager.Secret(
      `${name}-secret`,
      { secretId: args.secretId, replication: { auto: {} }, deletionProtection: args.protect ?? false },
      { parent: this },
    );
    this.version = new gcp.secretmanager.SecretVersion(
      `${name}-version`,
      { secret: this.secret.id, secretData: pulumi.secret(args.value) },
      { parent: this },
    );
    this.secretId = this.secret.secretId;
    this.versionNumber = this.version.version;
    this.registerOutputs({ secretId: this.secretId });
  }
}
