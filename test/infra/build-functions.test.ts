// The functions bundler (infra/build-functions.ts): a bundle is self-contained apart from the npm packages its
// package.json pins, and the Functions Framework serves it. Real esbuild, real Functions Framework, loopback only.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  BUNDLES,
  bundleContainer,
  bundleFunction,
  CONTAINER_BUNDLES,
  packageName,
} from '../../infra/build-functions.ts';

const root = new URL('../..', import.meta.url).pathname;
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};
const installed = (p: string) =>
  (JSON.parse(readFileSync(join(root, 'node_modules', p, 'package.json'), 'utf8')) as { version: string }).version;
// Inside the repo (dist/ is ignored) so the bundle resolves its packages from the repo's node_modules.
mkdirSync(join(root, 'dist'), { recursive: true });
const work = mkdtempSync(join(root, 'dist', '.bundle-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('packageName keeps scopes and drops subpaths', () => {
  assert.equal(packageName('zod'), 'zod');
  assert.equal(packageName('zod/v4'), 'zod');
  assert.equal(packageName('@google-cloud/functions-framework'), '@google-cloud/functions-framework');
  assert.equal(packageName('@google-cloud/functions-framework/testing'), '@google-cloud/functions-framework');
});

describe('a fixture function', () => {
  const src = join(work, 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(
    join(src, 'greet.ts'),
    "import { createHash } from 'node:crypto';\nexport const greet = (n: string): string => `hello ${n} ${createHash('sha256').update(n).digest('hex').slice(0, 8)}`;\n",
  );
  writeFileSync(
    join(src, 'index.ts'),
    [
      "import * as ff from '@google-cloud/functions-framework';",
      "import { z } from 'zod';",
      "import { greet } from './greet.ts';",
      "ff.http('hello', (req, res) => { res.send(greet(z.string().parse(req.query.name))); });",
    ].join('\n'),
  );

  test('bundles local TypeScript, pins exactly the npm packages it imports, and serves under the Functions Framework', async () => {
    const r = await bundleFunction(
      { name: 'hello', entry: join(src, 'index.ts') },
      { root, outRoot: join(work, 'out') },
    );
    const pkg = JSON.parse(readFileSync(join(r.outDir, 'package.json'), 'utf8'));
    assert.equal(pkg.main, 'index.js');
    assert.equal(pkg.type, 'module');
    assert.deepEqual(pkg.dependencies, {
      '@google-cloud/functions-framework': installed('@google-cloud/functions-framework'),
      zod: installed('zod'),
    });
    const js = readFileSync(join(r.outDir, 'index.js'), 'utf8');
    assert.doesNotMatch(js, /from ['"]\.\/greet/, 'local modules are inlined');

    await import(pathToFileURL(join(r.outDir, 'index.js')).href);
    const { getTestServer } = await import('@google-cloud/functions-framework/testing');
    const server = getTestServer('hello');
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/?name=ada`, { signal: AbortSignal.timeout(5000) });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /^hello ada [0-9a-f]{8}$/);
    } finally {
      await new Promise((res) => server.close(res));
    }
  });

  test('refuses a bundle that imports a package not in "dependencies"', async () => {
    writeFileSync(join(src, 'dev.ts'), "import { PNG } from 'pngjs';\nexport const png = PNG;\n");
    await assert.rejects(
      bundleFunction({ name: 'dev', entry: join(src, 'dev.ts') }, { root, outRoot: join(work, 'out') }),
      /"pngjs".*not in package\.json "dependencies"/,
    );
  });
});

describe('the web client ships with the API bundle', () => {
  test('the api bundle carries the prebuilt client, and a bundle with it serves / and the JS without esbuild', async () => {
    const api = BUNDLES.find((b) => b.name === 'api')!;
    const real = await bundleFunction(api, { root, outRoot: join(work, 'web-real') });
    for (const f of ['app.js', 'app.css', 'sw.js'])
      assert.ok(existsSync(join(real.outDir, 'web-client', f)), `web-client/${f} is in the api bundle`);
    const appJs = readFileSync(join(real.outDir, 'web-client', 'app.js'), 'utf8');
    assert.match(appJs, /serviceWorker/, 'it is the app (it registers the service worker)');
    assert.ok(gzipSync(appJs).length < 150 * 1024, 'under 150 kB of JavaScript gzipped');

    // A function bundled the same way around mountWebApp, whose client sources do not exist: it can only
    // answer from the prebuilt web-client/ beside its index.js, as the deployed API function does.
    const src = join(work, 'web-src');
    mkdirSync(src, { recursive: true });
    writeFileSync(
      join(src, 'index.ts'),
      [
        "import * as ff from '@google-cloud/functions-framework';",
        "import express from 'express';",
        `import { mountWebApp } from ${JSON.stringify(join(root, 'functions/api/web/serve.ts'))};`,
        `import { silentLogger } from ${JSON.stringify(join(root, 'shared/core/logger.ts'))};`,
        'const app = express();',
        "mountWebApp(app, { logger: silentLogger(), clientDir: '/nonexistent/client' });",
        "ff.http('web', app);",
      ].join('\n'),
    );
    const r = await bundleFunction(
      { name: 'web', entry: join(src, 'index.ts'), webClient: api.webClient },
      { root, outRoot: join(work, 'web-out') },
    );
    await import(pathToFileURL(join(r.outDir, 'index.js')).href);
    const { getTestServer } = await import('@google-cloud/functions-framework/testing');
    const server = getTestServer('web');
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    try {
      const { port } = server.address() as { port: number };
      const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
      const shell = await get('/');
      assert.equal(shell.status, 200);
      assert.match(shell.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      assert.match(await shell.text(), /<script type="module" src="\/app\/app\.js">/);
      const js = await get('/app/app.js');
      assert.equal(js.status, 200);
      assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
      assert.equal(await js.text(), readFileSync(join(r.outDir, 'web-client', 'app.js'), 'utf8'));
      const css = await get('/app/app.css');
      assert.equal(css.status, 200);
      assert.equal((await get('/sw.js')).status, 200);
    } finally {
      await new Promise((res) => server.close(res));
    }
  });
});

describe('the real function bundles', () => {
  for (const spec of BUNDLES) {
    const present = existsSync(join(root, spec.entry));
    test(
      `${spec.name} (${spec.entry}) bundles with only declared dependencies`,
      { skip: present ? false : `${spec.entry} not written yet` },
      async () => {
        const r = await bundleFunction(spec, { root, outRoot: join(work, 'real') });
        for (const [p, v] of Object.entries(r.dependencies)) {
          assert.ok(rootPkg.dependencies[p], `${p} is not a runtime dependency`);
          assert.equal(v, installed(p));
        }
        assert.ok(r.dependencies['@google-cloud/functions-framework']);
      },
    );
  }
});

describe('the Cloud Run workers run compiled JavaScript', () => {
  for (const spec of CONTAINER_BUNDLES) {
    test(`${spec.name}: the bundle builds with no TypeScript left, and its image runs it without tsx`, async () => {
      const r = await bundleContainer(spec, { root, outRoot: join(work, 'containers') });
      const js = readFileSync(join(r.outDir, 'index.js'), 'utf8');
      assert.doesNotMatch(js, /from ["'][^"']+\.ts["']/, 'every relative TypeScript import is bundled in');
      const dockerfile = readFileSync(join(root, `containers/${spec.name}/Dockerfile`), 'utf8');
      // Exec form or shell form alike: the words of the CMD line.
      const cmd = dockerfile
        .split('\n')
        .find((l) => l.startsWith('CMD '))!
        .replace(/[[\]",]/g, ' ')
        .replace(/\s+/g, ' ');
      assert.match(cmd, new RegExp(`node --enable-source-maps dist/containers/${spec.name}/index\\.js`));
      assert.doesNotMatch(cmd, /tsx|\.ts\b/);
      // The image builds its bundle with the bundler's own settings.
      for (const flag of ['--bundle', '--platform=node', '--format=esm', '--packages=external', '--target=node22'])
        assert.ok(dockerfile.includes(flag), `${spec.name}'s Dockerfile lacks ${flag}`);
      assert.ok(dockerfile.includes(`containers/${spec.name}/index.ts`));
    });
  }
});
