// Typed stack configuration (defaults, overrides from Pulumi config, validation) and the Vertex AI variant of
// the mocked deployment: no API key anywhere, the one extra role and API it needs.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as pulumi from '@pulumi/pulumi';
import { fakeFunctionsDir, installMocks, one, ofType, PROJECT, recorded, settle, value } from './mock-cloud.ts';

await installMocks();
const { createStack } = await import('../../infra/stack.ts');
const { defaults, loadStackConfig, timings, validate, StackConfigError } = await import('../../infra/config.ts');
const { minimalRoles } = await import('../../infra/roles.ts');

describe('stack configuration', () => {
  test('reads htbase:* keys over the defaults, objects merged key by key', () => {
    pulumi.runtime.setAllConfig({
      'gcp:project': PROJECT,
      'htbase:region': 'europe-west4',
      'htbase:browserImage': 'r/browser@sha256:1',
      'htbase:monolithImage': 'r/monolith@sha256:2',
      'htbase:captureTimeoutSeconds': '200',
      'htbase:browser': JSON.stringify({ memory: '4Gi' }),
      'htbase:summaries': JSON.stringify({ ratePerSecond: 0.5 }),
      'htbase:protectData': 'false',
    });
    const cfg = loadStackConfig();
    assert.equal(cfg.project, PROJECT);
    assert.equal(cfg.region, 'europe-west4');
    assert.equal(cfg.captureTimeoutSeconds, 200);
    assert.deepEqual(cfg.browser, { ...defaults(PROJECT).browser, memory: '4Gi' });
    assert.equal(cfg.summaries.ratePerSecond, 0.5);
    assert.equal(cfg.summaries.maxConcurrent, defaults(PROJECT).summaries.maxConcurrent);
    assert.equal(cfg.protectData, false);
    // Pulumi runs the program in infra/; bundles are found from the repository root all the same.
    assert.equal(cfg.functionsDir, new URL('../../dist/functions', import.meta.url).pathname);
    assert.ok(Object.isFrozen(cfg));
  });

  test('refuses what cannot be deployed, naming every problem', () => {
    const bad = { ...defaults('Bad_Project'), captureTimeoutSeconds: 600, maxDeliveryAttempts: 2 };
    assert.throws(
      () => validate(bad),
      (err: unknown) => {
        assert.ok(err instanceof StackConfigError);
        for (const key of ['project', 'browserImage', 'monolithImage', 'captureTimeoutSeconds', 'maxDeliveryAttempts'])
          assert.match(err.message, new RegExp(key));
        return true;
      },
    );
  });

  test('timings: Run timeout above the capture limit, ack deadline above the Run timeout, within Pub/Sub limits', () => {
    for (const captureTimeoutSeconds of [30, 120, 510]) {
      const t = timings({ captureTimeoutSeconds });
      assert.ok(t.runTimeoutSeconds > captureTimeoutSeconds);
      assert.ok(t.ackDeadlineSeconds > t.runTimeoutSeconds);
      assert.ok(t.ackDeadlineSeconds <= 600);
    }
  });

  test('API-key mode without a key is refused before anything is created', async () => {
    const cfg = validate({
      ...defaults(PROJECT),
      browserImage: 'b',
      monolithImage: 'm',
      functionsDir: fakeFunctionsDir(),
    });
    await settle();
    const before = recorded.length;
    assert.throws(() => createStack(cfg, {}), /geminiApiKey/);
    await settle();
    assert.equal(recorded.length, before);
  });
});

describe('Gemini through Vertex AI', () => {
  before(async () => {
    const cfg = validate({
      ...defaults(PROJECT),
      prefix: 'hv',
      browserImage: 'b@sha256:1',
      monolithImage: 'm@sha256:2',
      functionsDir: fakeFunctionsDir(),
      gemini: { mode: 'vertex', model: 'gemini-2.5-flash', location: 'global' },
    });
    const out = createStack(cfg);
    await value(out.apiUrl);
    await settle();
  });

  test('enables Vertex AI and stores no API key', () => {
    assert.ok(ofType('gcp:projects/service:Service').some((r) => r.inputs.service === 'aiplatform.googleapis.com'));
    assert.equal(ofType('gcp:secretmanager/secret:Secret').filter((r) => /gemini/.test(r.inputs.secretId)).length, 0);
    const task = one('gcp:cloudfunctionsv2/function:Function', (r) => r.inputs.name === 'hv-summary-task');
    assert.equal(task.inputs.serviceConfig.environmentVariables.GEMINI_MODE, 'vertex');
    assert.equal(task.inputs.serviceConfig.environmentVariables.GEMINI_LOCATION, 'global');
    assert.ok(
      !task.inputs.serviceConfig.secretEnvironmentVariables.some((s: { key: string }) => s.key === 'GEMINI_API_KEY'),
    );
  });

  test('the summary task handler gets roles/aiplatform.user, as documented, and nothing else changes', () => {
    const member = `serviceAccount:hv-summary-task@${PROJECT}.iam.gserviceaccount.com`;
    const granted = ofType('gcp:projects/iAMMember:IAMMember').filter((r) => r.inputs.member === member);
    assert.deepEqual(
      granted.map((r) => r.inputs.role),
      ['roles/aiplatform.user'],
    );
    const vertex = minimalRoles({ vertex: true });
    const apiKey = minimalRoles({ vertex: false });
    assert.deepEqual(
      vertex['summary-task'].map((g) => g.role).filter((r) => !apiKey['summary-task'].some((g) => g.role === r)),
      ['roles/aiplatform.user'],
    );
  });
});
