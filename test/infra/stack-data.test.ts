// Mocked deployment (Gemini in API-key mode), project and data: the APIs, registries and stack outputs, the
// private network, Cloud SQL, Redis, the buckets, Firestore and its rules, and where the Gemini key goes.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { TOPICS } from '../../shared/core/messages.ts';
import { one, ofType, PROJECT, secretValue } from './mock-cloud.ts';
import { cfg, deploy, envOf, fn, GCP, REQUIRED_APIS, secretEnvOf, service } from './stack-fixture.ts';

let outputs: Record<string, unknown> = {};
before(async () => {
  outputs = await deploy();
});

describe('project basics', () => {
  test('every API the deployment uses is enabled, and kept on destroy', () => {
    const on = ofType(GCP('projects/service:Service'));
    assert.deepEqual(on.map((r) => r.inputs.service).sort(), [...REQUIRED_APIS].sort());
    for (const r of on) assert.equal(r.inputs.disableOnDestroy, false);
  });

  test('Artifact Registry holds Docker repositories with cleanup policies', () => {
    const repos = ofType(GCP('artifactregistry/repository:Repository'));
    assert.deepEqual(repos.map((r) => r.inputs.repositoryId).sort(), ['htbase', 'htbase-functions']);
    for (const r of repos) {
      assert.equal(r.inputs.format, 'DOCKER');
      assert.equal(r.inputs.location, 'europe-west1');
      assert.ok(r.inputs.cleanupPolicies.some((p: any) => p.action === 'KEEP' && p.mostRecentVersions.keepCount >= 5));
    }
    assert.equal(outputs.imagesRepository, `europe-west1-docker.pkg.dev/${PROJECT}/htbase`);
  });

  test('stack outputs: API URL, bucket, topics, service URLs', () => {
    assert.match(String(outputs.apiUrl), /^https:\/\/htbase-api-.*\.run\.app$/);
    assert.equal(outputs.artifactsBucket, `${PROJECT}-htbase-artifacts`);
    assert.deepEqual(Object.keys(outputs.topics as object).sort(), Object.values(TOPICS).sort());
    assert.match(String(outputs.browserUrl), /^https:\/\/htbase-browser-/);
    assert.match(String(outputs.monolithUrl), /^https:\/\/htbase-monolith-/);
    assert.match(String(outputs.syncUrl), /^https:\/\/htbase-sync-/);
    assert.match(String(outputs.summaryTaskUrl), /^https:\/\/htbase-summary-task-/);
    assert.equal(outputs.tasksQueue, `projects/${PROJECT}/locations/europe-west1/queues/htbase-summaries`);
    assert.equal(outputs.databaseInstance, `${PROJECT}:europe-west1:htbase-pg`);
  });
});

describe('network', () => {
  test('a custom VPC, a subnet for Direct VPC egress and private services access', () => {
    const vpc = one(GCP('compute/network:Network'), () => true);
    assert.equal(vpc.inputs.autoCreateSubnetworks, false);
    const subnet = one(GCP('compute/subnetwork:Subnetwork'), () => true);
    assert.equal(subnet.inputs.ipCidrRange, cfg.network.subnetCidr);
    assert.equal(subnet.inputs.privateIpGoogleAccess, true);
    const range = one(GCP('compute/globalAddress:GlobalAddress'), () => true);
    assert.equal(range.inputs.purpose, 'VPC_PEERING');
    assert.equal(range.inputs.addressType, 'INTERNAL');
    const psa = one(GCP('servicenetworking/connection:Connection'), () => true);
    assert.equal(psa.inputs.service, 'servicenetworking.googleapis.com');
    assert.deepEqual(psa.inputs.reservedPeeringRanges, [range.inputs.name]);
  });

  test('capture workers may reach only Postgres and Redis inside the VPC', () => {
    const fw = ofType(GCP('compute/firewall:Firewall'));
    const allow = fw.find((r) => r.inputs.allows?.length)!;
    const deny = fw.find((r) => r.inputs.denies?.length)!;
    assert.deepEqual(allow.inputs.destinationRanges, [`10.99.0.0/${cfg.network.psaPrefixLength}`]);
    assert.deepEqual(allow.inputs.allows, [{ protocol: 'tcp', ports: ['5432', '6379'] }]);
    assert.ok(allow.inputs.priority < deny.inputs.priority, 'the allow must win over the deny');
    assert.deepEqual(deny.inputs.denies, [{ protocol: 'all' }]);
    for (const cidr of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'])
      assert.ok(deny.inputs.destinationRanges.includes(cidr));
    for (const r of fw) {
      assert.equal(r.inputs.direction, 'EGRESS');
      assert.deepEqual(r.inputs.targetTags, ['htbase-capture']);
    }
    for (const w of ['browser', 'monolith']) {
      assert.deepEqual(service(w).inputs.template.vpcAccess.networkInterfaces[0].tags, ['htbase-capture']);
    }
  });
});

describe('data stores', () => {
  test('Cloud SQL: PostgreSQL 15, private IP only, TLS, backups, PITR, deletion protection', () => {
    const sql = one(GCP('sql/databaseInstance:DatabaseInstance'), () => true);
    assert.equal(sql.inputs.databaseVersion, 'POSTGRES_15');
    assert.equal(sql.inputs.deletionProtection, true);
    const s = sql.inputs.settings;
    assert.equal(s.ipConfiguration.ipv4Enabled, false);
    assert.equal(s.ipConfiguration.privateNetwork, `projects/${PROJECT}/global/networks/htbase-vpc`);
    assert.equal(s.ipConfiguration.authorizedNetworks, undefined);
    assert.equal(s.ipConfiguration.sslMode, 'ENCRYPTED_ONLY');
    assert.equal(s.deletionProtectionEnabled, true);
    assert.equal(s.backupConfiguration.enabled, true);
    assert.equal(s.backupConfiguration.pointInTimeRecoveryEnabled, true);
    assert.equal(s.backupConfiguration.transactionLogRetentionDays, cfg.database.pitrDays);
    assert.equal(s.backupConfiguration.backupRetentionSettings.retainedBackups, cfg.database.backupRetainedCount);
    assert.equal(s.tier, cfg.database.tier);
  });

  test('the database user has a generated password, kept only in Secret Manager as DATABASE_URL', () => {
    const user = one(GCP('sql/user:User'), () => true);
    assert.equal(user.inputs.name, 'htbase');
    assert.equal(secretValue(user.inputs.password), 'generated-password-32-chars-long');
    assert.equal(one(GCP('sql/database:Database'), () => true).inputs.name, 'htbase');
    const version = one(GCP('secretmanager/secretVersion:SecretVersion'), (r) =>
      r.inputs.secret.endsWith('/htbase-database-url'),
    );
    assert.equal(
      secretValue(version.inputs.secretData),
      'postgres://htbase:generated-password-32-chars-long@10.99.0.3:5432/htbase?sslmode=no-verify',
    );
    for (const r of [
      ...ofType(GCP('cloudrunv2/service:Service')),
      ...ofType(GCP('cloudfunctionsv2/function:Function')),
    ]) {
      for (const v of Object.values(envOf(r)))
        assert.ok(!String(v).includes('generated-password'), `${r.name} carries the password in plain env`);
      assert.equal(envOf(r).DATABASE_URL, undefined);
    }
  });

  test('Memorystore Redis: private services access, AUTH on, URL in Secret Manager', () => {
    const redis = one(GCP('redis/instance:Instance'), () => true);
    assert.equal(redis.inputs.authEnabled, true);
    assert.equal(redis.inputs.connectMode, 'PRIVATE_SERVICE_ACCESS');
    assert.equal(redis.inputs.authorizedNetwork, `projects/${PROJECT}/global/networks/htbase-vpc`);
    assert.equal(redis.inputs.memorySizeGb, cfg.redis.memoryGb);
    const version = one(GCP('secretmanager/secretVersion:SecretVersion'), (r) =>
      r.inputs.secret.endsWith('/htbase-redis-url'),
    );
    assert.equal(secretValue(version.inputs.secretData), 'redis://:redis-auth-string@10.99.16.4:6379');
  });

  test('artifacts bucket: uniform access, public access prevention enforced, soft delete, lifecycle', () => {
    const b = one(GCP('storage/bucket:Bucket'), (r) => r.inputs.name.endsWith('-artifacts'));
    assert.equal(b.inputs.uniformBucketLevelAccess, true);
    assert.equal(b.inputs.publicAccessPrevention, 'enforced');
    assert.equal(b.inputs.softDeletePolicy.retentionDurationSeconds, 7 * 86_400);
    assert.equal(b.inputs.location, 'europe-west1');
    assert.equal(b.inputs.forceDestroy, false);
    const rules = b.inputs.lifecycleRules.map((r: any) => r.action.type);
    assert.ok(rules.includes('SetStorageClass') && rules.includes('AbortIncompleteMultipartUpload'));
    const src = one(GCP('storage/bucket:Bucket'), (r) => r.inputs.name.endsWith('-fn-source'));
    assert.equal(src.inputs.publicAccessPrevention, 'enforced');
    assert.equal(src.inputs.uniformBucketLevelAccess, true);
  });

  test('no bucket grants anything to allUsers or allAuthenticatedUsers', () => {
    for (const r of ofType(GCP('storage/bucketIAMMember:BucketIAMMember')))
      assert.ok(!/^all(Authenticated)?Users$/.test(r.inputs.member));
    assert.equal(ofType(GCP('storage/bucketIAMBinding:BucketIAMBinding')).length, 0);
    assert.equal(ofType(GCP('storage/bucketACL:BucketACL')).length, 0);
  });

  test('Firestore native database with rules: each signed-in user reads their own, nobody writes from a client', () => {
    const db = one(GCP('firestore/database:Database'), () => true);
    // A named database per stack, so two stacks in one project keep separate replicas.
    assert.equal(db.inputs.name, `${cfg.prefix}-replica`);
    assert.equal(db.inputs.type, 'FIRESTORE_NATIVE');
    assert.equal(db.inputs.deleteProtectionState, 'DELETE_PROTECTION_ENABLED');
    const ruleset = one(GCP('firebaserules/ruleset:Ruleset'), () => true);
    const content: string = ruleset.inputs.source.files[0].content;
    assert.equal(content, readFileSync(new URL('../../infra/firestore.rules', import.meta.url), 'utf8'));
    assert.match(
      content,
      /match \/articles\/\{articleId\}[\s\S]*allow get, list: if request\.auth != null && resource\.data\.ownerUid == request\.auth\.uid;[\s\S]*allow write: if false;/,
    );
    assert.doesNotMatch(content, /allow (read, )?write: if (true|request\.auth)/);
    const release = one(GCP('firebaserules/release:Release'), () => true);
    // A named database's rules release is cloud.firestore/{database}; "cloud.firestore" alone is (default).
    assert.equal(release.inputs.name, `cloud.firestore/${cfg.prefix}-replica`);
    // The provider's Ruleset `name` is the bare id (the mock returns it so); the release needs the full path.
    assert.equal(release.inputs.rulesetName, `projects/${PROJECT}/rulesets/ruleset-1`);
    assert.equal(ruleset.state.name, 'ruleset-1');
  });

  test('the Gemini key lives in Secret Manager and reaches only the summary task handler', () => {
    const v = one(GCP('secretmanager/secretVersion:SecretVersion'), (r) =>
      r.inputs.secret.endsWith('/htbase-gemini-api-key'),
    );
    assert.equal(secretValue(v.inputs.secretData), 'AIza-test-key');
    const holders = [...ofType(GCP('cloudfunctionsv2/function:Function')), ...ofType(GCP('cloudrunv2/service:Service'))]
      .filter((r) => 'GEMINI_API_KEY' in secretEnvOf(r))
      .map((r) => r.inputs.name);
    assert.deepEqual(holders, ['htbase-summary-task']);
    assert.equal(envOf(fn('summary-task')).GEMINI_MODE, 'api-key');
  });
});
