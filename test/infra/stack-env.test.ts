// Each of the seven deployables gets from Pulumi only variables its own zod schema reads, and everything it
// requires: the environment Pulumi gives it (secrets stood in for) passes that schema, cross-field rules included.
// The schemas' cross-field rules refuse the combinations that would fail or be unsafe at start-up.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { z } from 'zod';
import { loadConfig } from '../../shared/core/config.ts';
import { BrowserWorkerConfig } from '../../containers/browser/config.ts';
import { MonolithWorkerConfig } from '../../containers/monolith/config.ts';
import { CloudApiConfig } from '../../functions/api/config.ts';
import { hasSummaryTasks } from '../../shared/adapters/cloud-tasks.ts';
import { SummarizeConfig, SummarizerEnv, summarizeRules } from '../../functions/summarize/config.ts';
import { SweepConfig } from '../../functions/sweep/config.ts';
import { SyncConfig } from '../../functions/sync/config.ts';
import type { Recorded } from './mock-cloud.ts';
import { deploy, envOf, fn, secretEnvOf, service } from './stack-fixture.ts';

before(async () => {
  await deploy();
});

/** The deployable, the resource Pulumi declares for it, and the schema its entry point parses. */
const DEPLOYABLES: Array<[string, () => Recorded, z.ZodObject]> = [
  ['api', () => fn('api'), CloudApiConfig],
  ['summarize', () => fn('summarize'), SummarizeConfig],
  ['summarizeTask', () => fn('summary-task'), SummarizeConfig],
  ['sync', () => fn('sync'), SyncConfig],
  ['sweep', () => fn('sweep'), SweepConfig],
  ['browser', () => service('browser'), BrowserWorkerConfig],
  ['monolith', () => service('monolith'), MonolithWorkerConfig],
];

/** Values standing in for the Secret Manager references, as the runtime would resolve them. */
const SECRET_VALUES: Record<string, string> = {
  DATABASE_URL: 'postgres://htbase:pw@10.99.0.3:5432/htbase',
  REDIS_URL: 'redis://:auth@10.99.16.4:6379',
  GEMINI_API_KEY: 'AIza-test-key',
  COOKIE_ENCRYPTION_KEY: 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
};

function runtimeEnv(r: Recorded): Record<string, string> {
  const secrets = Object.keys(secretEnvOf(r));
  for (const k of secrets) assert.ok(k in SECRET_VALUES, `no stand-in for the secret ${k}`);
  return { ...envOf(r), ...Object.fromEntries(secrets.map((k) => [k, SECRET_VALUES[k]!])) };
}

describe('every deployable reads every variable Pulumi gives it', () => {
  for (const [name, resource, schema] of DEPLOYABLES) {
    test(`${name}: every variable is one its schema reads, and the environment passes the schema`, () => {
      const known = new Set(Object.keys(schema.shape));
      const env = runtimeEnv(resource());
      for (const k of Object.keys(env)) assert.ok(known.has(k), `${name}: ${k} is not in its schema`);
      assert.doesNotThrow(() => loadConfig(schema, env), `${name}: Pulumi's environment fails its own schema`);
    });
  }

  test('summarize and summary-task get the task URL, a project, the bucket and the database', () => {
    for (const name of ['summarize', 'summary-task']) {
      const env = runtimeEnv(fn(name));
      for (const k of ['SUMMARY_TASK_URL', 'GOOGLE_CLOUD_PROJECT', 'ARTIFACTS_BUCKET', 'DATABASE_URL'])
        assert.ok(k in env, `${name} lacks ${k}`);
    }
  });

  test('the cloud API gets the summary queue, so POST /archives/{id}/summary is wired', () => {
    const env = runtimeEnv(fn('api'));
    const cfg = loadConfig(CloudApiConfig, env);
    assert.ok(hasSummaryTasks(cfg));
    // The API enqueues; it never calls the model: Pulumi gives it no summarizer setting and its schema reads none.
    const summarizerKeys = Object.keys(SummarizerEnv.shape).filter((k) => k !== 'GOOGLE_CLOUD_PROJECT');
    assert.ok(summarizerKeys.includes('GEMINI_MODE'));
    for (const k of summarizerKeys) {
      assert.ok(!(k in env), `Pulumi gives the API ${k}`);
      assert.ok(!(k in CloudApiConfig.shape), `the API schema reads ${k}`);
    }
  });
});

describe('cross-field rules of the cloud schemas', () => {
  const api = { API_KEYS_REQUIRED: 'true' };
  const refused = (schema: z.ZodType, env: Record<string, string>, re: RegExp) =>
    assert.throws(() => loadConfig(schema, env), re);

  test('api: an auth method, an allow-list for Google ID tokens, the signer pair, a project for Cloud Tasks', () => {
    assert.doesNotThrow(() => loadConfig(CloudApiConfig, api));
    refused(CloudApiConfig, {}, /API_KEYS_REQUIRED: the cloud API needs an auth method/);
    refused(CloudApiConfig, { GOOGLE_ID_TOKEN_AUDIENCE: 'aud' }, /GOOGLE_ID_TOKEN_ALLOWED_EMAILS: /);
    assert.doesNotThrow(() =>
      loadConfig(CloudApiConfig, { GOOGLE_ID_TOKEN_AUDIENCE: 'aud', GOOGLE_ID_TOKEN_ALLOWED_EMAILS: 'example.com' }),
    );
    refused(CloudApiConfig, { ...api, GCS_SIGNER_EMAIL: 'signer@p.iam.gserviceaccount.com' }, /GCS_SIGNER_KEY: /);
    refused(CloudApiConfig, { ...api, GCS_SIGNER_KEY: 'pem' }, /GCS_SIGNER_EMAIL: /);
    refused(
      CloudApiConfig,
      { ...api, SUMMARY_TASK_URL: 'https://t.example/' },
      /GOOGLE_CLOUD_PROJECT: .*required for Cloud Tasks/,
    );
    assert.equal(hasSummaryTasks(loadConfig(CloudApiConfig, api)), false, 'no queue settings: no summaries');
  });

  test('summarize: Gemini credentials for its mode, a project, the bucket', () => {
    const ok = { GOOGLE_CLOUD_PROJECT: 'p', ARTIFACTS_BUCKET: 'b', SUMMARY_TASK_URL: 'https://t.example/' };
    assert.doesNotThrow(() => loadConfig(SummarizeConfig, ok));
    refused(SummarizeConfig, { ...ok, GEMINI_MODE: 'api-key' }, /GEMINI_API_KEY: GEMINI_MODE=api-key needs/);
    refused(SummarizeConfig, { ...ok, GOOGLE_CLOUD_PROJECT: '' }, /GOOGLE_CLOUD_PROJECT/);
    refused(SummarizeConfig, { ...ok, ARTIFACTS_BUCKET: '' }, /ARTIFACTS_BUCKET/);
    // Vertex without a project: SummarizeConfig requires the project anyway, so the rule is checked on its own.
    refused(
      SummarizerEnv.superRefine(summarizeRules),
      { GEMINI_MODE: 'vertex' },
      /GEMINI_MODE=vertex needs GOOGLE_CLOUD_PROJECT/,
    );
  });

  test('sweep: token verification on needs its audience and caller; off only explicitly', () => {
    refused(SweepConfig, {}, /SWEEP_AUDIENCE: SWEEP_VERIFY_OIDC is on/);
    refused(SweepConfig, { SWEEP_AUDIENCE: 'https://s.example/' }, /SWEEP_INVOKER_SA: /);
    assert.doesNotThrow(() => loadConfig(SweepConfig, { SWEEP_VERIFY_OIDC: 'false' }));
  });
});
