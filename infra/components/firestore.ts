// Firestore: the stack's own named native-mode database the read replica lives in (two stacks can share a
// project), and its security rules from infra/firestore.rules (signed-in users read their own, no client writes).
import { readFileSync } from 'node:fs';
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';

export const RULES_PATH = new URL('../firestore.rules', import.meta.url);

export interface FirestoreArgs {
  project: string;
  locationId: string;
  protect: boolean;
  /** Database id, one per stack (`${prefix}-replica`); sync reads it as FIRESTORE_DATABASE. */
  databaseId: string;
  /** Rules source; defaults to infra/firestore.rules. */
  rules?: string;
}

/** The rules release of a database: `cloud.firestore` is "(default)", any other is `cloud.firestore/{id}`. */
export const releaseName = (databaseId: string) =>
  databaseId === '(default)' ? 'cloud.firestore' : `cloud.firestore/${databaseId}`;

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
        name: args.databaseId,
        locationId: args.locationId,
        type: 'FIRESTORE_NATIVE',
        concurrencyMode: 'OPTIMISTIC',
        deleteProtectionState: args.protect ? 'DELETE_PROTECTION_ENABLED' : 'DELETE_PROTECTION_DISABLED',
        // The replica is rebuildable from Postgres (npm run firestore:reconcile): abandon, don't delete.
        deletionPolicy: args.protect ? 'ABANDON' : 'DELETE',
      },
      { parent: this },
    );
    // The Firebase Rules API is a "client-based" API: called with a person's own credentials (the first deploy
    // from a workstation) it answers 403 unless the request names a quota project. This provider sends the
    // stack's project as X-Goog-User-Project for the two rules resources; a service account is unaffected.
    const rulesProvider = new gcp.Provider(
      `${name}-rules-provider`,
      { project: args.project, userProjectOverride: true, billingProject: args.project },
      { parent: this },
    );
    const content = args.rules ?? readFileSync(RULES_PATH, 'utf8');
    this.ruleset = new gcp.firebaserules.Ruleset(
      `${name}-rules`,
      { project: args.project, source: { files: [{ name: 'firestore.rules', content }] } },
      { parent: this, provider: rulesProvider, dependsOn: [this.database] },
    );
    this.release = new gcp.firebaserules.Release(
      `${name}-release`,
      {
        project: args.project,
        name: releaseName(args.databaseId),
        // The provider's Ruleset `name` is the bare id; the Rules API wants the full resource name.
        rulesetName: pulumi.interpolate`projects/${args.project}/rulesets/${this.ruleset.name}`,
      },
      { parent: this, provider: rulesProvider, dependsOn: [this.database] },
    );
    this.registerOutputs({ database: this.database.name });
  }
}
