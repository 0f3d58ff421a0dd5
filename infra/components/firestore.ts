// Firestore: the native-mode database the read replica lives in, and its security rules from
// infra/firestore.rules (signed-in app users read, no client writes; only the sync function writes).
import { readFileSync } from 'node:fs';
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';

export const RULES_PATH = new URL('../firestore.rules', import.meta.url);

export interface FirestoreArgs {
  project: string;
  locationId: string;
  protect: boolean;
  /** Rules source; defaults to infra/firestore.rules. */
  rules?: string;
}

export class Firestore extends pulumi.ComponentResource {
  readonly database: gcp.firestore.Database;
  readonly ruleset: gcp.firebaserules.Ruleset;
  readonly release: gcp.firebaserules.Release;

  constructor(name: string, args: FirestoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super('htbase:infra:Firestore', name, {}, opts);
    this.database = new gcp.firestore.Database(
      `${name}-db`,
      {
        project: args.project,
        // The client SDKs and the rules release below address "(default)".
        name: '(default)',
        locationId: args.locationId,
        type: 'FIRESTORE_NATIVE',
        concurrencyMode: 'OPTIMISTIC',
        deleteProtectionState: args.protect ? 'DELETE_PROTECTION_ENABLED' : 'DELETE_PROTECTION_DISABLED',
        // The replica is rebuildable from Postgres (npm run firestore:reconcile): abandon, don't delete.
        deletionPolicy: args.protect ? 'ABANDON' : 'DELETE',
      },
      { parent: this },
    );
    const content = args.rules ?? readFileSync(RULES_PATH, 'utf8');
    this.ruleset = new gcp.firebaserules.Ruleset(
      `${name}-rules`,
      { project: args.project, source: { files: [{ name: 'firestore.rules', content }] } },
      { parent: this, dependsOn: [this.database] },
    );
    this.release = new gcp.firebaserules.Release(
      `${name}-release`,
      { project: args.project, name: 'cloud.firestore', rulesetName: this.ruleset.name },
      { parent: this, dependsOn: [this.database] },
    );
    this.registerOutputs({ database: this.database.name });
  }
}
