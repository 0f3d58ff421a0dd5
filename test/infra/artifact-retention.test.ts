// The artifacts bucket's retention policy (issue 16), on Pulumi's mocks: off by default, a period when
// configured, locked only on request, and the stack configuration refuses settings Cloud Storage would not keep.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { installMocks, ofType, PROJECT, settle } from './mock-cloud.ts';

await installMocks();
const { ArtifactStore } = await import('../../infra/components/artifact-store.ts');
const { defaults, validate } = await import('../../infra/config.ts');

const base = {
  project: PROJECT,
  region: 'europe-west1',
  nearlineAfterDays: 90,
  deleteAfterDays: 0,
  softDeleteDays: 7,
  protect: false,
};
const bucket = (prefix: string) =>
  ofType('gcp:storage/bucket:Bucket').find((r) => r.inputs.name === `${PROJECT}-${prefix}-artifacts`)!;

before(async () => {
  new ArtifactStore('plain', { ...base, prefix: 'plain' });
  new ArtifactStore('kept', { ...base, prefix: 'kept', retentionDays: 365 });
  new ArtifactStore('locked', { ...base, prefix: 'locked', retentionDays: 3650, retentionLocked: true });
  await settle();
});

test('no retention policy unless configured', () => {
  assert.equal(bucket('plain').inputs.retentionPolicy, undefined);
});

test('retentionDays sets the period in seconds, unlocked by default', () => {
  assert.deepEqual(bucket('kept').inputs.retentionPolicy, { retentionPeriod: String(365 * 86_400), isLocked: false });
});

test('retentionLocked locks the policy', () => {
  assert.deepEqual(bucket('locked').inputs.retentionPolicy, {
    retentionPeriod: String(3650 * 86_400),
    isLocked: true,
  });
});

test('the stack configuration refuses a lock without a period, a lifecycle delete inside it, and bad periods', () => {
  const cfg = (artifacts: object) => ({
    ...defaults(PROJECT, 'europe-west1'),
    browserImage: 'b@sha256:a',
    monolithImage: 'm@sha256:b',
    artifacts: { ...defaults(PROJECT).artifacts, ...artifacts },
  });
  assert.equal(validate(cfg({ retentionDays: 30, retentionLocked: true })).artifacts.retentionDays, 30);
  assert.throws(() => validate(cfg({ retentionLocked: true })), /retentionLocked: needs retentionDays/);
  assert.throws(() => validate(cfg({ retentionDays: 365, deleteAfterDays: 30 })), /deleteAfterDays: at least/);
  assert.throws(() => validate(cfg({ retentionDays: -1 })), /retentionDays/);
  assert.throws(() => validate(cfg({ retentionDays: 1.5 })), /retentionDays/);
  assert.throws(() => validate(cfg({ retentionDays: 40_000 })), /retentionDays/);
});
