// Proves the layer rule in eslint.config.js: planted imports that cross a layer are reported, legitimate ones
// are not. Runs ESLint's Node API on code given as text, with file paths that place it in the tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root, overrideConfigFile: `${root}eslint.config.js` });
const LAYER_RULES = new Set(['no-restricted-imports', 'no-restricted-syntax']);

/** The layer-rule messages ESLint reports for `code` placed at `filePath` (relative to the repository). */
async function layerErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${filePath}` });
  assert.ok(result, `ESLint linted ${filePath}`);
  return result.messages.filter((m) => m.ruleId && LAYER_RULES.has(m.ruleId)).map((m) => m.message);
}

async function assertRefused(filePath: string, code: string, mentions: RegExp): Promise<void> {
  const errors = await layerErrors(filePath, code);
  assert.equal(errors.length, 1, `${filePath}: ${code.trim()} is refused once (got ${JSON.stringify(errors)})`);
  assert.match(errors[0]!, mentions);
}

async function assertAllowed(filePath: string, code: string): Promise<void> {
  assert.deepEqual(await layerErrors(filePath, code), [], `${filePath}: ${code.trim()} is allowed`);
}

test('shared/ never imports a deployable', async () => {
  await assertRefused(
    'shared/x.ts',
    "import { createApp } from '../functions/api/app.ts';\n",
    /shared\/ is the library/,
  );
  await assertRefused('shared/net/x.ts', "import { createApp } from '../../functions/api/app.ts';\n", /library/);
  await assertRefused(
    'shared/db/migrations/x.ts',
    "export * from '../../../containers/browser/capture.ts';\n",
    /library/,
  );
  await assertRefused('shared/core/x.ts', "import type { X } from '../../containers/standalone/app.ts';\n", /library/);
  await assertRefused(
    'shared/core/x.ts',
    "export const m = () => import('../../functions/sync/index.ts');\n",
    /library/,
  );
});

test('a deployable never imports another deployable', async () => {
  await assertRefused('functions/sync/x.ts', "import { a } from '../api/app.ts';\n", /functions\/sync is a deployable/);
  await assertRefused(
    'functions/sync/x.ts',
    "import { a } from '../../functions/summarize/service.ts';\n",
    /deployable/,
  );
  await assertRefused('functions/api/x.ts', "import { a } from '../../containers/browser/capture.ts';\n", /deployable/);
  await assertRefused('containers/monolith/x.ts', "import { a } from '../browser/capture.ts';\n", /deployable/);
  await assertRefused('containers/browser/x.ts', "import { a } from '../../functions/api/app.ts';\n", /deployable/);
  await assertRefused('functions/api/sub/x.ts', "import { a } from '../../sweep/index.ts';\n", /deployable/);
  await assertRefused('functions/api/x.ts', "const m = await import('../sweep/index.ts');\nvoid m;\n", /deployable/);
});

test('nothing but test/ imports the composition root (containers/standalone)', async () => {
  await assertRefused('functions/api/x.ts', "import { a } from '../../containers/standalone/app.ts';\n", /standalone/);
  await assertRefused('containers/browser/x.ts', "import { a } from '../standalone/app.ts';\n", /standalone/);
  await assertRefused('containers/monolith/x.ts', "import { a } from '../standalone/cli/htbase.ts';\n", /standalone/);
  await assertRefused('infra/x.ts', "import { a } from '../containers/standalone/app.ts';\n", /infra\/ imports only/);
  await assertAllowed('test/e2e/x.test.ts', "import { a } from '../../containers/standalone/app.ts';\n");
});

test('infra/ imports only shared/ and infra/', async () => {
  await assertRefused('infra/x.ts', "import { a } from '../functions/api/config.ts';\n", /infra\/ imports only/);
  await assertRefused('infra/components/x.ts', "import { a } from '../../containers/browser/config.ts';\n", /infra/);
  await assertRefused('infra/components/x.ts', "import { a } from '../../test/support/topology.ts';\n", /infra/);
  await assertRefused('infra/x.ts', "import { a } from '../../elsewhere/x.ts';\n", /infra/);
  await assertAllowed('infra/components/x.ts', "import { TOPICS } from '../../shared/core/messages.ts';\n");
  await assertAllowed('infra/components/x.ts', "import { SERVICE_ACCOUNTS } from '../roles.ts';\n");
  await assertAllowed(
    'infra/x.ts',
    "import { Apis } from './components/apis.ts';\nimport * as pulumi from '@pulumi/pulumi';\n",
  );
});

test('legitimate imports pass', async () => {
  // The composition root composes the deployables' apps and engines.
  await assertAllowed(
    'containers/standalone/app.ts',
    "import { createApp } from '../../functions/api/app.ts';\nimport { b } from '../browser/capture.ts';\n",
  );
  await assertAllowed('containers/standalone/cli/x.ts', "import { b } from '../../monolith/monolith.ts';\n");
  // A deployable uses shared/ and its own files; shared/ uses its own layers.
  await assertAllowed(
    'functions/api/x.ts',
    "import { a } from './app.ts';\nimport { b } from '../../shared/db/repo.ts';\nimport express from 'express';\n",
  );
  await assertAllowed('containers/browser/x.ts', "import { a } from '../../shared/net/ssrf.ts';\n");
  await assertAllowed(
    'shared/capture/x.ts',
    "import { a } from '../net/egress-proxy.ts';\nimport { b } from './worker.ts';\n",
  );
  await assertAllowed('shared/db/migrations/x.ts', "import { a } from '../../core/config.ts';\n");
  // A name that only starts like a deployable's is not one.
  await assertAllowed('functions/sync/x.ts', "import { a } from '../../shared/apis/x.ts';\n");
  // Tests may import anything.
  await assertAllowed('test/unit/x.test.ts', "import { a } from '../../functions/api/app.ts';\n");
});

test('files nested deeper than the rule counts are refused, so none slips past it', async () => {
  const errors = await layerErrors('shared/a/b/c/d/x.ts', 'export const x = 1;\n');
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /at most 3 subfolders/);
});
