// Lint (npm run lint): eslint's and typescript-eslint's recommended rules, without type information so it
// stays fast; `tsc --noEmit` does the type checking. Rules that fight the codebase's conventions are noted.
// It also enforces the layers (STYLE.md "Layers"); test/unit/layers.test.ts proves the rule catches what it should.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The deployables: each is built and shipped on its own, so none may reach into another's files. */
const DEPLOYABLES = [
  'functions/api',
  'functions/summarize',
  'functions/sync',
  'functions/sweep',
  'containers/browser',
  'containers/monolith',
];
/** The composition root: the single process, the CLI and the doctor compose the deployables' apps and engines. */
const COMPOSITION_ROOT = 'containers/standalone';

/**
 * Who may not import what. A layer names what it must not reach (`forbid`, directories from the repository root)
 * or the only top-level directories it may reach (`only`). containers/standalone and test/ have no entry: the
 * composition root may import every deployable, and tests may import anything.
 */
const LAYERS = [
  {
    dir: 'shared',
    forbid: ['functions', 'containers'],
    why: 'shared/ is the library: it never imports a program (functions/, containers/).',
  },
  ...DEPLOYABLES.map((dir) => ({
    dir,
    forbid: [...DEPLOYABLES.filter((other) => other !== dir), COMPOSITION_ROOT],
    why: `${dir} is a deployable: it imports shared/ only, never another deployable or ${COMPOSITION_ROOT} (the composition root imports them, not the other way round).`,
  })),
  {
    // The Pulumi program deploys the programs; it needs the shared message and config schemas (shared/core),
    // never the programs' code: their bundles are built from paths (infra/build-functions.ts), not imports.
    // Tests that check infra against a deployable's config live in test/, which may import anything.
    dir: 'infra',
    only: ['shared', 'infra'],
    why: 'infra/ imports only shared/ and infra/.',
  },
];

/**
 * ESLint sees an import as written, relative to the importing file, so the patterns are built per directory
 * depth: from `dir/` plus `extra` levels of subdirectory, `../` repeated `k` times lands on a known ancestor
 * when k > extra. Deeper files than MAX_EXTRA_DEPTH are refused outright (below) so none slips through.
 */
const MAX_EXTRA_DEPTH = 3;
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Regexes for the import specifiers, written in a file `extra` levels below `layer.dir`, that the layer refuses. */
function refusedSpecifiers(layer, extra) {
  const parts = layer.dir.split('/');
  const out = [];
  for (let up = 1; up <= parts.length; up++) {
    const ups = `^(?:\\.\\./){${extra + up}}`;
    const base = parts.slice(0, parts.length - up);
    if (base.length === 0 && layer.only) {
      // At the root: any top-level name but the allowed ones, and any further `../` out of the repository.
      out.push(`${ups}(?!(?:${layer.only.map(escapeRe).join('|')})(?:/|$))`);
      continue;
    }
    for (const target of layer.forbid ?? []) {
      const t = target.split('/');
      if (base.some((p, i) => t[i] !== p) || t.length <= base.length) continue; // not below this ancestor
      out.push(`${ups}${escapeRe(t.slice(base.length).join('/'))}(?:/|$)`);
    }
  }
  return out;
}

/** One files block per layer and depth: static imports and re-exports, and import() with a literal path. */
function layerBlocks() {
  const blocks = [];
  for (const layer of LAYERS) {
    for (let extra = 0; extra <= MAX_EXTRA_DEPTH; extra++) {
      const res = refusedSpecifiers(layer, extra);
      blocks.push({
        files: [`${layer.dir}/${'*/'.repeat(extra)}*.{ts,mts,js,mjs}`],
        rules: {
          'no-restricted-imports': ['error', { patterns: res.map((regex) => ({ regex, message: layer.why })) }],
          // esquery regexes cannot contain a slash, so \x2F stands for it.
          'no-restricted-syntax': [
            'error',
            ...res.map((re) => ({
              selector: `ImportExpression[source.value=/${re.replaceAll('/', '\\x2F')}/]`,
              message: layer.why,
            })),
          ],
        },
      });
    }
    blocks.push({
      files: [`${layer.dir}/${'*/'.repeat(MAX_EXTRA_DEPTH + 1)}**/*.{ts,mts,js,mjs}`],
      rules: {
        'no-restricted-syntax': [
          'error',
          { selector: 'Program', message: `the layer rule counts ../ for at most ${MAX_EXTRA_DEPTH} subfolders` },
        ],
      },
    });
  }
  return blocks;
}

export default tseslint.config(
  {
    ignores: ['node_modules/**', 'dist/**', 'data/**', '.run/**', 'bench-reports/**', '**/*.d.ts', 'test/fixtures/**'],
  }, // fixtures are web pages served to the browser
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // Mocks, JSON fixtures and SDK edges need `any` now and then; tsc strict mode already guards the rest.
      '@typescript-eslint/no-explicit-any': 'off',
      // `cond ? a() : b()` as a statement is used on purpose in a few places.
      '@typescript-eslint/no-unused-expressions': ['error', { allowTernary: true, allowShortCircuit: true }],
      // A `let x!: T` assigned once later, after a closure that reads it was created, cannot be const.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  ...layerBlocks(),
);
