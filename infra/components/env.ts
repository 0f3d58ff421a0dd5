// Shapes shared by the deployable components: plain and Secret Manager-backed environment variables.
import type * as pulumi from '@pulumi/pulumi';

export type Env = Record<string, pulumi.Input<string>>;
/** Variable name -> secret id and the version to mount (a number, so new values roll out as revisions). */
export type SecretEnv = Record<string, { secret: pulumi.Input<string>; version: pulumi.Input<string> }>;

/** Direct VPC egress settings: only private ranges go through the VPC, the public web goes direct. */
export interface VpcEgress {
  network: pulumi.Input<string>;
  subnetwork: pulumi.Input<string>;
  tags: string[];
}
