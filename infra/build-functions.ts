// `npm run build:functions`: bundles each function's TypeScript (and the shared code it imports) into
// dist/functions/<name>/index.js with esbuild, and writes a package.json whose `main` is that file and whose
// dependencies are exactly the npm packages the bundle imports, pinned to the versions installed here.
// Cloud Functions' Node.js build then only runs `npm install` on it. `--containers` bundles the two Cloud Run
// workers the same way (dist/containers/<name>/index.js), which their images run instead of TypeScript via tsx.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

export interface BundleSpec {
  /** Folder name under dist/functions, and the bundle's source folder under functions/. */
  name: string;
  entry: string;
  /**
   * A web client to bundle beside the function (its folder holding main.ts and sw.ts): written to web-client/
   * next to index.js, where functions/api/web/serve.ts looks first, so the deployed function needs no esbuild.
   */
  webClient?: string;
}

/** Deployable function bundles; summarize's bundle serves both `summarize` and `summarizeTask`. */
export const BUNDLES: BundleSpec[] = [
  { name: 'api', entry: 'functions/api/index.ts', webClient: 'functions/api/web/client' },
  { name: 'summarize', entry: 'functions/summarize/index.ts' },
  { name: 'sync', entry: 'functions/sync/index.ts' },
  { name: 'sweep', entry: 'functions/sweep/index.ts' },
];

/** The Cloud Run workers: their images run the bundle with the image's node_modules (packages stay external). */
export const CONTAINER_BUNDLES: BundleSpec[] = [
  { name: 'browser', entry: 'containers/browser/index.ts' },
  { name: 'monolith', entry: 'containers/monolith/index.ts' },
];

/** The Functions Framework runs the bundle; it is imported by the code, but make sure it is always there. */
const ALWAYS = ['@google-cloud/functions-framework'];

export interface BundleResult {
  outDir: string;
  dependencies: Record<string, string>;
  bytes: number;
}

/** `@scope/pkg/sub/path` -> `@scope/pkg`; `pkg/sub` -> `pkg`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function installedVersion(root: string, pkg: string): string {
  const declared = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  if (!declared.dependencies?.[pkg]) {
    throw new Error(
      `a function imports "${pkg}", which is not in package.json "dependencies" (a devDependency is not deployed)`,
    );
  }
  return (JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string })
    .version;
}

/** esbuild's one configuration for every deployable: one ESM file per entry, npm packages left as imports. */
async function bundleEntry(root: string, entry: string, outDir: string) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  return build({
    absWorkingDir: root,
    entryPoints: [resolve(root, entry)],
    outfile: join(outDir, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    // npm packages stay packages (installed by the Functions build): native addons, package-relative
    // assets and CJS internals keep working exactly as they do under tsx here.
    packages: 'external',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
}

/** A Cloud Run worker's bundle: dist/containers/<name>/index.js (run with `node --enable-source-maps`). */
export async function bundleContainer(
  spec: BundleSpec,
  opts: { root: string; outRoot: string },
): Promise<BundleResult> {
  const outDir = join(opts.outRoot, spec.name);
  const result = await bundleEntry(opts.root, spec.entry, outDir);
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  return { outDir, dependencies: {}, bytes };
}

export async function bundleFunction(spec: BundleSpec, opts: { root: string; outRoot: string }): Promise<BundleResult> {
  const outDir = join(opts.outRoot, spec.name);
  const result = await bundleEntry(opts.root, spec.entry, outDir);
  const pkgs = new Set<string>(ALWAYS);
  for (const input of Object.values(result.metafile.inputs)) {
    for (const imp of input.imports) {
      if (imp.external && !isBuiltin(imp.path)) pkgs.add(packageName(imp.path));
    }
  }
  const dependencies = Object.fromEntries([...pkgs].sort().map((p) => [p, installedVersion(opts.root, p)]));
  const pkg = {
    name: `htbase-fn-${spec.name}`,
    private: true,
    type: 'module',
    main: 'index.js',
    engines: { node: '22' },
    scripts: { start: 'functions-framework' },
    dependencies,
  };
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  let bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  if (spec.webClient) bytes += await bundleWebClient(resolve(opts.root, spec.webClient), join(outDir, 'web-client'));
  return { outDir, dependencies, bytes };
}

/**
 * The browser bundle with the options serve.ts uses when it builds in memory (minified ESM for es2020, app.js,
 * app.css, sw.js): the files are the same whichever side built them. Answers the bytes written.
 */
export async function bundleWebClient(clientDir: string, outDir: string): Promise<number> {
  const result = await build({
    entryPoints: { app: join(clientDir, 'main.ts'), sw: join(clientDir, 'sw.ts') },
    outdir: outDir,
    bundle: true,
    minify: true,
    format: 'esm',
    splitting: true, // the Firebase SDK is a chunk of its own, loaded on sign-in (serve.ts)
    chunkNames: 'chunk-[hash]',
    target: 'es2020',
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  return Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
}

async function main(): Promise<void> {
  const root = resolve(new URL('..', import.meta.url).pathname);
  const containers = process.argv.includes('--containers');
  const all = containers ? CONTAINER_BUNDLES : BUNDLES;
  const wanted = process.argv.slice(2).filter((a) => a !== '--containers');
  const specs = wanted.length ? all.filter((b) => wanted.includes(b.name)) : all;
  if (wanted.length && specs.length !== wanted.length)
    throw new Error(`unknown bundle; known: ${all.map((b) => b.name).join(', ')}`);
  for (const spec of specs) {
    const r = containers
      ? await bundleContainer(spec, { root, outRoot: join(root, 'dist', 'containers') })
      : await bundleFunction(spec, { root, outRoot: join(root, 'dist', 'functions') });
    // A build script's report goes to the terminal, not to the JSON logs of the deployables.
    process.stdout.write(
      `${spec.name}: ${r.outDir} (${Math.round(r.bytes / 1024)} KiB` +
        (containers ? ')\n' : `, ${Object.keys(r.dependencies).length} packages)\n`),
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main().catch((err: unknown) => {
    process.stderr.write(`build:functions failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
