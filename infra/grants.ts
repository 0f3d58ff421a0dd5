// IAM grants of the stack: turns the scope vocabulary of roles.ts (project, gcf-sources, bucket:K, secret:K, queue:K,
// repo:K, sa:K, topic:K, subscription:K, run:K) into member resources on what the stack built. Grants on topics,
// subscriptions and services come later than the rest, once those exist; the rest precede the deployables.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import type { Identities } from './components/identities.ts';
import type { AccountKey, Grant } from './roles.ts';

/** What a grant may point at, by the key roles.ts names it with; late scopes are absent in the early phase. */
export interface Targets {
  buckets: Record<string, pulumi.Input<string>>;
  secrets: Record<string, pulumi.Input<string>>;
  queues: Record<string, pulumi.Input<string>>;
  repos: Record<string, pulumi.Input<string>>;
  topics?: Record<string, pulumi.Input<string>>;
  subscriptions?: Record<string, pulumi.Input<string>>;
  run?: Record<string, pulumi.Input<string>>;
}

/** Scopes that exist only once the deployables and the messaging do. */
export const LATE_SCOPES = /^(topic|subscription|run):/;

function need<T>(v: T | undefined, g: Grant): T {
  if (v === undefined) throw new Error(`roles.ts grants ${g.role} on ${g.on}, which this stack does not have`);
  return v;
}

export type GrantFn = (
  who: string,
  member: pulumi.Input<string>,
  g: Grant,
  target: Targets,
) => pulumi.Resource | undefined;

/** The grant maker of one stack: each call declares one additive member resource (never a binding or policy). */
export function createGranter(ctx: {
  project: string;
  region: string;
  projectNumber: pulumi.Input<string>;
  ids: Identities;
  dependsOn: pulumi.Input<pulumi.Resource>[];
}): GrantFn {
  const { project, region, ids } = ctx;
  // The staging bucket Cloud Functions (2nd gen) copies each uploaded source to before its build reads it.
  const gcfSources = pulumi.interpolate`projects/_/buckets/gcf-v2-sources-${ctx.projectNumber}-${region}`;
  return (who, member, g, target) => {
    const [kind, key] = g.on.includes(':') ? (g.on.split(/:(.*)/s) as [string, string]) : [g.on, ''];
    const rname = `iam-${who}-${g.role.replace('roles/', '').replace(/\./g, '-')}-${g.on.replace(':', '-')}`;
    const base = { role: g.role, member };
    const o = { dependsOn: ctx.dependsOn };
    switch (kind) {
      case 'project':
        return new gcp.projects.IAMMember(rname, { project, ...base }, o);
      case 'gcf-sources':
        return new gcp.projects.IAMMember(
          rname,
          {
            project,
            ...base,
            condition: {
              title: 'gcf-v2-sources bucket only',
              description: 'Cloud Functions build: read the staged function sources',
              // The bucket itself and its objects (projects/_/buckets/B/objects/O) both start with this.
              expression: pulumi.interpolate`resource.name.startsWith("${gcfSources}")`,
            },
          },
          o,
        );
      case 'bucket':
        return new gcp.storage.BucketIAMMember(rname, { bucket: need(target.buckets[key], g), ...base }, o);
      case 'secret':
        return new gcp.secretmanager.SecretIamMember(rname, { secretId: need(target.secrets[key], g), ...base }, o);
      case 'queue':
        return new gcp.cloudtasks.QueueIamMember(
          rname,
          { name: need(target.queues[key], g), location: region, ...base },
          o,
        );
      case 'repo':
        return new gcp.artifactregistry.RepositoryIamMember(
          rname,
          { repository: need(target.repos[key], g), location: region, ...base },
          o,
        );
      case 'sa':
        return new gcp.serviceaccount.IAMMember(
          rname,
          { serviceAccountId: ids.accounts[key as AccountKey].name, ...base },
          o,
        );
      case 'topic':
        return target.topics
          ? new gcp.pubsub.TopicIAMMember(rname, { topic: need(target.topics[key], g), ...base }, o)
          : undefined;
      case 'subscription':
        return target.subscriptions
          ? new gcp.pubsub.SubscriptionIAMMember(
              rname,
              { subscription: need(target.subscriptions[key], g), ...base },
              o,
            )
          : undefined;
      case 'run':
        return target.run
          ? new gcp.cloudrunv2.ServiceIamMember(
              rname,
              { project, location: region, name: need(target.run[key], g), ...base },
              o,
            )
          : undefined;
      default:
        throw new Error(`roles.ts: unknown scope ${g.on}`);
    }
  };
}

/** Declares every account's grants of one phase (early: not LATE_SCOPES; late: only those); returns them per account. */
export function grantPhase(
  grant: GrantFn,
  roles: Record<AccountKey, Grant[]>,
  ids: Identities,
  phase: 'early' | 'late',
  target: Targets,
): Map<AccountKey, pulumi.Resource[]> {
  const granted = new Map<AccountKey, pulumi.Resource[]>();
  for (const [key, list] of Object.entries(roles) as [AccountKey, Grant[]][]) {
    const member = pulumi.interpolate`serviceAccount:${ids.email(key)}`;
    const mine = list.filter((g) => LATE_SCOPES.test(g.on) === (phase === 'late'));
    granted.set(
      key,
      mine.map((g) => grant(key, member, g, target)).filter((r): r is pulumi.Resource => !!r),
    );
  }
  return granted;
}
