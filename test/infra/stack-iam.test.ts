// Mocked deployment, identity and access: one service account per deployable, each with exactly the roles
// infra/roles.ts documents, no basic roles or authoritative bindings, grants in place before deploys.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ofType, PROJECT, PROJECT_NUMBER, recorded, type Recorded } from './mock-cloud.ts';
import {
  deploy,
  FORBIDDEN_ROLES,
  GCP,
  minimalRoles,
  service,
  SERVICE_ACCOUNTS,
  SERVICE_AGENT_ROLES,
} from './stack-fixture.ts';

before(async () => {
  await deploy();
});

describe('identity and access', () => {
  // Resolves an IAM resource to the scope vocabulary of infra/roles.ts from what it points at.
  function scopeOf(r: Recorded): string {
    const i = r.inputs;
    switch (r.type) {
      case GCP('projects/iAMMember:IAMMember'):
        assert.equal(i.project, PROJECT);
        if (i.condition) {
          // The one conditional grant: Google's function-source staging bucket, and nothing else.
          assert.equal(
            i.condition.expression,
            `resource.name.startsWith("projects/_/buckets/gcf-v2-sources-${PROJECT_NUMBER}-europe-west1")`,
          );
          return 'gcf-sources';
        }
        return 'project';
      case GCP('storage/bucketIAMMember:BucketIAMMember'):
        return `bucket:${i.bucket.replace(`${PROJECT}-htbase-`, '')}`;
      case GCP('pubsub/topicIAMMember:TopicIAMMember'):
        return `topic:${i.topic.replace('htbase-', '')}`;
      case GCP('pubsub/subscriptionIAMMember:SubscriptionIAMMember'):
        return `subscription:${i.subscription.replace('htbase-', '')}`;
      case GCP('secretmanager/secretIamMember:SecretIamMember'):
        return `secret:${i.secretId.replace(`projects/${PROJECT}/secrets/htbase-`, '')}`;
      case GCP('cloudtasks/queueIamMember:QueueIamMember'):
        return `queue:${i.name.replace('htbase-', '')}`;
      case GCP('artifactregistry/repositoryIamMember:RepositoryIamMember'):
        return `repo:${i.repository.replace('htbase-', '')}`;
      case GCP('serviceaccount/iAMMember:IAMMember'):
        return `sa:${i.serviceAccountId.replace(`projects/${PROJECT}/serviceAccounts/htbase-`, '').replace(`@${PROJECT}.iam.gserviceaccount.com`, '')}`;
      case GCP('cloudrunv2/serviceIamMember:ServiceIamMember'):
        return `run:${i.name.replace('htbase-', '')}`;
      default:
        throw new Error(`unexpected IAM resource ${r.type}`);
    }
  }
  const iam = () => recorded.filter((r) => r.type.startsWith('gcp:') && /iammember|iambinding|iampolicy/i.test(r.type));
  const principal = (member: string) => {
    const m = /^serviceAccount:htbase-(.+)@htbase-test-123\.iam\.gserviceaccount\.com$/.exec(member);
    if (m) return m[1];
    if (member.includes('gcp-sa-pubsub')) return 'agent:pubsub';
    if (member.includes('gs-project-accounts')) return 'agent:storage';
    return member;
  };
  const byPrincipal = () => {
    const map = new Map<string, string[]>();
    for (const r of iam()) {
      const p = principal(r.inputs.member);
      map.set(p, [...(map.get(p) ?? []), `${r.inputs.role} on ${scopeOf(r)}`]);
    }
    return map;
  };

  test('one service account per deployable and invoking identity', () => {
    const accounts = ofType(GCP('serviceaccount/account:Account'))
      .map((r) => r.inputs.accountId)
      .sort();
    assert.deepEqual(
      accounts,
      Object.keys(SERVICE_ACCOUNTS)
        .map((k) => `htbase-${k}`)
        .sort(),
    );
    const used = [
      service('browser').inputs.template.serviceAccount,
      service('monolith').inputs.template.serviceAccount,
      ...ofType(GCP('cloudfunctionsv2/function:Function')).map((f) => f.inputs.serviceConfig.serviceAccountEmail),
    ];
    assert.equal(new Set(used).size, used.length, 'no two deployables share an identity');
  });

  test("each service account's roles equal its documented minimal list in infra/roles.ts", () => {
    const actual = byPrincipal();
    for (const [key, grants] of Object.entries(minimalRoles({ vertex: false }))) {
      const want = [...new Set(grants.map((g) => `${g.role} on ${g.on}`))].sort();
      assert.deepEqual((actual.get(key) ?? []).sort(), want, key);
    }
    for (const [agent, grants] of Object.entries(SERVICE_AGENT_ROLES)) {
      assert.deepEqual(
        (actual.get(`agent:${agent}`) ?? []).sort(),
        grants.map((g) => `${g.role} on ${g.on}`).sort(),
        agent,
      );
    }
    const expected = new Set([...Object.keys(SERVICE_ACCOUNTS), 'agent:pubsub', 'agent:storage', 'allUsers']);
    for (const p of actual.keys()) assert.ok(expected.has(p), `unexpected principal ${p}`);
  });

  test('no basic roles (owner, editor, viewer) and no bindings or policies that would replace others', () => {
    for (const r of iam()) {
      assert.ok(!FORBIDDEN_ROLES.includes(r.inputs.role), `${r.name} grants ${r.inputs.role}`);
      assert.doesNotMatch(r.type, /Binding|Policy/i, 'authoritative IAM would strip grants made outside this stack');
    }
    for (const g of Object.values(minimalRoles({ vertex: true })).flat()) assert.ok(!FORBIDDEN_ROLES.includes(g.role));
  });

  test('secrets are readable at deploy time: each deployable waits for its grants', () => {
    // Cloud Run checks secret access when it creates a revision; the grants exist before the services.
    const order = recorded.map((r) => r.name);
    const grantIdx = order.indexOf('iam-browser-secretmanager-secretAccessor-secret-database-url');
    assert.ok(grantIdx >= 0 && grantIdx < order.indexOf('browser-service'));
    const sumIdx = order.indexOf('iam-summary-task-secretmanager-secretAccessor-secret-gemini-api-key');
    assert.ok(sumIdx >= 0 && sumIdx < order.indexOf('summary-task-fn'));
  });
});
