// The first real deploy (issue 15): each defect that would have failed a first `pulumi up` / `gcloud builds
// submit` on a fresh project, checked against the mocked deployment, cloudbuild.yaml and README's bootstrap.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { ofType, one, PROJECT, PROJECT_NUMBER, recorded, type Recorded } from './mock-cloud.ts';
import { cfg, defaults, deploy, envOf, fn, GCP, sa, service, SERVICE_ACCOUNTS, validate } from './stack-fixture.ts';

const { DEPLOYER_ROLES } = await import('../../infra/roles.ts');
const { MAX_PREFIX, names } = await import('../../infra/config.ts');
const { maxInstancesOf, planPools, RESERVED_CONNECTIONS, tierMaxConnections, WANTED_POOL } =
  await import('../../infra/pools.ts');
const { sleeper } = await import('../../infra/components/propagation-wait.ts');

const root = new URL('../../', import.meta.url);
const README = readFileSync(new URL('README.md', root), 'utf8');
const bootstrap = (() => {
  const at = README.indexOf('### One-time bootstrap');
  const open = README.indexOf('```sh\n', at);
  return README.slice(open + 6, README.indexOf('\n```', open + 6));
})();
/** The bootstrap's commands (comments dropped, continuation lines joined), in order. */
const commands = bootstrap
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .map((l) => l.replace(/\s+#.*$/, '').trim())
  .filter((l) => l && !l.startsWith('#'));
const indexOf = (re: RegExp) => {
  const i = commands.findIndex((c) => re.test(c));
  assert.ok(i >= 0, `README bootstrap has no command matching ${re}`);
  return i;
};
const order = (r: Recorded) => recorded.indexOf(r);

before(async () => {
  await deploy();
});

describe('the first deploy', () => {
  test('the rules release names its ruleset by full path (the provider gives the bare id)', () => {
    const ruleset = one(GCP('firebaserules/ruleset:Ruleset'), () => true);
    assert.doesNotMatch(ruleset.state.name, /\//, 'the mock answers like the provider: a bare id');
    const release = one(GCP('firebaserules/release:Release'), () => true);
    assert.equal(release.inputs.rulesetName, `projects/${PROJECT}/rulesets/${ruleset.state.name}`);
  });

  test('the functions build account may read gcf-v2-sources-{number}-{region}, under a condition', () => {
    const g = one(
      GCP('projects/iAMMember:IAMMember'),
      (r) => r.inputs.member === `serviceAccount:${sa('functions-build')}` && !!r.inputs.condition,
    );
    assert.equal(g.inputs.role, 'roles/storage.objectViewer');
    assert.equal(
      g.inputs.condition.expression,
      `resource.name.startsWith("projects/_/buckets/gcf-v2-sources-${PROJECT_NUMBER}-${cfg.region}")`,
    );
    assert.ok(g.inputs.condition.title);
  });

  test('every deployable is created only after the IAM grants and a deliberate propagation wait', () => {
    const wait = one('pulumi-nodejs:dynamic/htbase:PropagationWait', () => true);
    assert.equal(wait.inputs.seconds, cfg.iamPropagationSeconds);
    // Pulumi ships a dynamic provider to the engine as source text: it serialized (it captures no imports).
    assert.match(String(wait.inputs.__provider), /setTimeout/);
    assert.ok(cfg.iamPropagationSeconds >= 60, 'IAM takes about two minutes to apply');
    // The early grants: all but those on topics, subscriptions and services, and the Pub/Sub agent's (made late).
    const grants = recorded.filter(
      (r) =>
        /IAMMember|IamMember/.test(r.type) &&
        !/cloudrunv2|pubsub\//.test(r.type) &&
        !String(r.inputs.member).includes('gcp-sa-pubsub'),
    );
    assert.ok(grants.length > 10);
    for (const g of grants) assert.ok(order(g) < order(wait), `${g.name} is made before the wait starts`);
    assert.equal(wait.inputs.triggers.length, grants.length, 'a changed grant waits again');
    const deployables = [
      ...ofType(GCP('cloudfunctionsv2/function:Function')),
      ...ofType(GCP('cloudrunv2/service:Service')),
    ];
    assert.equal(deployables.length, 7);
    for (const d of deployables) assert.ok(order(d) > order(wait), `${d.inputs.name} waits for IAM to propagate`);
  });

  test('the wait sleeps on create and when its grants change, not on a re-deploy', async () => {
    const olds = { seconds: 120, triggers: ['a', 'b'] };
    assert.deepEqual(await sleeper.diff!('id', olds, { ...olds }), { changes: false, replaces: [] });
    const changed = await sleeper.diff!('id', olds, { ...olds, triggers: ['a', 'c'] });
    assert.deepEqual(changed.replaces, ['triggers'], 'replaced, so create (and its sleep) runs again');
    const created = await sleeper.create({ seconds: 0.01, triggers: [] });
    assert.ok(created.id);
  });

  test("README's bootstrap: settings are appended after `stack init`, never copied over its file", () => {
    const init = indexOf(/^pulumi stack init \$STACK --secrets-provider="gcpkms:/);
    const stackFile = /Pulumi\.\$STACK\.yaml/;
    for (const [i, c] of commands.entries()) {
      if (!stackFile.test(c)) continue;
      assert.ok(i > init, `"${c}" comes before stack init, which would overwrite it`);
      assert.doesNotMatch(
        c,
        /^cp |[^>]>\s*Pulumi\.\$STACK\.yaml/,
        `"${c}" replaces the file holding the secrets provider`,
      );
      assert.match(c, />>\s*Pulumi\.\$STACK\.yaml/);
    }
    assert.ok(indexOf(/^pulumi config set gcp:project \$PROJECT$/) > init);
  });

  test("README's bootstrap has every command a fresh project needs, in order", () => {
    const before = (a: RegExp, b: RegExp) => assert.ok(indexOf(a) < indexOf(b), `${a} must come before ${b}`);
    const up = /^pulumi up /;
    before(/npm ci/, /^pulumi login/);
    before(/^gcloud auth application-default login$/, up);
    before(/^gcloud auth application-default set-quota-project \$PROJECT$/, up);
    before(/^gcloud services enable .*cloudkms/, /^gcloud kms keyrings create/);
    before(
      /^gcloud storage buckets create gs:\/\/\$PROJECT-pulumi-state/,
      /^pulumi login gs:\/\/\$PROJECT-pulumi-state/,
    );
    before(/^gcloud kms keys create state/, /^pulumi stack init/);
    before(/^gcloud iam service-accounts create htbase-deployer/, /^for role in/);
    before(/^pulumi login/, /^pulumi stack init/);
    before(/^pulumi stack init/, /^pulumi config set --secret htbase:geminiApiKey/);
    before(/npm run build:functions/, up);
    before(up, /^gcloud builds triggers create/);
    before(up, /^gcloud builds submit --config cloudbuild.yaml/);
  });

  test("the deployer's roles cover every resource type the stack declares, Cloud Scheduler included", () => {
    const keys = Object.keys(DEPLOYER_ROLES);
    for (const type of new Set(recorded.map((r) => r.type).filter((t) => t.startsWith('gcp:'))))
      assert.ok(
        keys.some((k) => type.startsWith(k)),
        `no deployer role manages ${type}`,
      );
    assert.ok(ofType(GCP('cloudscheduler/job:Job')).length > 0);
    assert.equal(DEPLOYER_ROLES['gcp:cloudscheduler/'], 'roles/cloudscheduler.admin');
    // README's loop grants exactly these roles.
    const loop = commands[indexOf(/^for role in/)];
    const granted = loop
      .replace(/^for role in /, '')
      .replace(/; do$/, '')
      .split(/\s+/);
    assert.deepEqual(granted.map((r) => `roles/${r}`).sort(), [...new Set(Object.values(DEPLOYER_ROLES))].sort());
  });

  test('cloudbuild.yaml runs as the deployer, with the logging option a named account requires', () => {
    const build = parse(readFileSync(new URL('cloudbuild.yaml', root), 'utf8'));
    assert.equal(build.substitutions._DEPLOYER, 'htbase-deployer');
    assert.equal(
      build.serviceAccount,
      'projects/${PROJECT_ID}/serviceAccounts/${_DEPLOYER}@${PROJECT_ID}.iam.gserviceaccount.com',
    );
    assert.ok(['CLOUD_LOGGING_ONLY', 'NONE'].includes(build.options.logging) || build.logsBucket);
    assert.match(bootstrap, /gcloud iam service-accounts create htbase-deployer /);
    // Both entry points also name the deployer outright, so neither rests on substitutions inside serviceAccount.
    const deployer = /--service-account=projects\/\$PROJECT\/serviceAccounts\/\$DEPLOYER /;
    assert.match(commands[indexOf(/^gcloud builds submit --config cloudbuild.yaml/)], deployer);
    assert.match(commands[indexOf(/^gcloud builds triggers create/)], deployer);
  });

  test('topics, subscriptions and the Firestore database carry the stack prefix', () => {
    const p = `${cfg.prefix}-`;
    for (const r of [...ofType(GCP('pubsub/topic:Topic')), ...ofType(GCP('pubsub/subscription:Subscription'))])
      assert.ok(r.inputs.name.startsWith(p), `${r.inputs.name} lacks the prefix`);
    assert.equal(one(GCP('firestore/database:Database'), () => true).inputs.name, names(cfg).firestoreDatabase);
    assert.equal(envOf(fn('sync')).FIRESTORE_DATABASE, `${p}replica`);
    // Whoever publishes prepends the prefix to the logical topic names of shared/core/messages.ts.
    for (const r of [fn('api'), fn('summary-task'), fn('sweep'), service('browser'), service('monolith')])
      assert.equal(envOf(r).PUBSUB_TOPIC_PREFIX, p, r.inputs.name);
    assert.notEqual(names({ prefix: 'htbase' }).firestoreDatabase, names({ prefix: 'htbase-stg' }).firestoreDatabase);
  });

  test('the prefix is limited so every service-account id fits in 30 characters, with a clear error', () => {
    const longest = 'x'.repeat(MAX_PREFIX);
    for (const key of Object.keys(SERVICE_ACCOUNTS)) assert.ok(`${longest}-${key}`.length <= 30, key);
    const base = { ...cfg, functionsDir: cfg.functionsDir };
    assert.doesNotThrow(() => validate({ ...base, prefix: 'htbase-stg' }));
    assert.throws(
      () => validate({ ...base, prefix: `${longest}y` }),
      (e: Error) => e.name === 'StackConfigError' && /prefix: .*2-12 characters.*scheduler-invoker.*30/.test(e.message),
    );
    assert.throws(() => validate({ ...base, prefix: 'ends-' }), /prefix/);
  });

  test('the Firebase Rules calls name a quota project (a person deploying with their own credentials)', () => {
    for (const t of ['firebaserules/ruleset:Ruleset', 'firebaserules/release:Release']) {
      const r = one(GCP(t), () => true);
      const provider = recorded.find((p) => p.type === 'pulumi:providers:gcp' && r.provider?.includes(`::${p.name}::`));
      assert.ok(provider, `${t} uses the default provider, which sends no quota project`);
      assert.equal(String(provider.inputs.userProjectOverride), 'true');
      assert.equal(provider.inputs.billingProject, PROJECT);
    }
  });

  test('the Pub/Sub and Eventarc service agents are created explicitly, before what needs them', () => {
    const identity = (s: string) => one(GCP('projects/serviceIdentity:ServiceIdentity'), (r) => r.inputs.service === s);
    const pubsub = identity('pubsub.googleapis.com');
    const eventarc = identity('eventarc.googleapis.com');
    const agentGrants = recorded.filter((r) => r.inputs?.member === pubsub.state.member);
    assert.equal(agentGrants.length, 7, 'dead-letter publisher and subscriber grants, token creator');
    for (const g of agentGrants) assert.ok(order(g) > order(pubsub));
    assert.ok(order(fn('summarize')) > order(eventarc), 'the Eventarc trigger needs its agent');
  });

  test('database pools fit the tier: every instance at its maximum stays within max_connections', () => {
    const maxOf = (r: Recorded) =>
      r.type.includes('cloudrunv2')
        ? r.inputs.template.scaling.maxInstanceCount
        : r.inputs.serviceConfig.maxInstanceCount;
    const users = [...ofType(GCP('cloudfunctionsv2/function:Function')), ...ofType(GCP('cloudrunv2/service:Service'))];
    let total = 0;
    for (const r of users) {
      const env = envOf(r);
      const pool = Number(env.DB_POOL_SIZE);
      assert.ok(pool >= 1, `${r.inputs.name} has no DB_POOL_SIZE`);
      // An API with its key cache on holds one LISTEN connection per instance beside its pool.
      total += (pool + (env.API_KEY_CACHE === 'on' ? 1 : 0)) * maxOf(r);
    }
    // The API's own setting is never left to its default ('on'), which db-f1-micro has no room for.
    assert.equal(envOf(fn('api')).API_KEY_CACHE, 'off');
    const max = tierMaxConnections(cfg.database.tier)!;
    assert.equal(max, 25);
    assert.ok(total <= max - RESERVED_CONNECTIONS, `${total} connections at full scale against ${max}`);
  });

  test('a bigger tier grows every pool together; a stack that cannot fit is refused with the arithmetic', () => {
    const small = planPools(cfg);
    const big = planPools({ ...cfg, database: { ...cfg.database, tier: 'db-custom-2-7680' } });
    assert.equal(big.maxConnections, 400);
    for (const k of Object.keys(WANTED_POOL) as (keyof typeof WANTED_POOL)[]) {
      assert.ok(big.sizes[k] >= small.sizes[k] && big.sizes[k] <= WANTED_POOL[k], k);
    }
    assert.ok(big.total <= big.budget && small.total <= small.budget);
    // db-f1-micro's 20 hold the 19 instances but not the API's 4 LISTEN connections beside them: the key cache is
    // off there, and on (its connections counted in the total) on the bigger tier.
    assert.equal(small.apiKeyCache, false);
    assert.equal(big.apiKeyCache, true);
    const n = maxInstancesOf(cfg);
    const pooled = (p: typeof big) =>
      (Object.keys(WANTED_POOL) as (keyof typeof WANTED_POOL)[]).reduce((t, k) => t + p.sizes[k] * n[k], 0);
    assert.equal(big.total, pooled(big) + n.api);
    assert.equal(small.total, pooled(small));
    const crowded = {
      ...defaults(PROJECT),
      browserImage: 'b',
      monolithImage: 'm',
      api: { ...cfg.api, maxInstances: 20 },
    };
    assert.throws(() => validate(crowded), /database: 35 instances .* tier db-f1-micro allows 25/);
    assert.throws(
      () => validate({ ...crowded, database: { ...crowded.database, tier: 'db-perf-x' } }),
      /maxConnections/,
    );
  });
});
