// The fidelity benchmark's page list: ../shared/corpus/manifest.json (readability, zengarden) plus the
// extra/ pages when setup.sh has installed them, each with the document root its loopback origin serves.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export type Subset = 'readability' | 'zengarden' | 'extra';
export const SUBSETS: readonly Subset[] = ['readability', 'zengarden', 'extra'];

export interface BenchPage {
  id: string;
  subset: Subset;
  /** Key of the origin (one loopback server per key). */
  origin: string;
  /** Path and query on that origin. */
  path: string;
  note?: string;
}

export interface Corpus {
  pages: BenchPage[];
  /** Origin key -> document root. */
  roots: Record<string, string>;
  /** Why pages were left out (extra/ not installed, a file missing). */
  notes: string[];
}

interface Manifest {
  roots: Record<string, string>;
  pages: Array<{ id: string; root: string; path: string; source?: string; note?: string }>;
}

/** Document roots of the three extra origins (corpus/extra/setup.sh). */
export function extraRoots(npmDir: string): Record<string, string> {
  return { doc: '/usr/share/doc', lo: '/usr/share/libreoffice/help', npm: join(npmDir, 'node_modules') };
}

/** Parses pages.tsv: `id<TAB>origin<TAB>path<TAB>features`, `#` comments. */
export function parsePagesTsv(text: string): Array<{ id: string; origin: string; path: string; features: string }> {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [id, origin, path, features = ''] = l.split('\t');
      if (!id || !origin || !path) throw new Error(`pages.tsv: malformed line: ${l}`);
      return { id, origin, path, features };
    });
}

export function loadCorpus(corpusDir: string, extraNpmDir: string): Corpus {
  const dir = resolve(corpusDir);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const roots: Record<string, string> = {};
  const pages: BenchPage[] = [];
  const notes: string[] = [];
  for (const p of manifest.pages) {
    const origin = `corpus:${p.root}`;
    roots[origin] = join(dir, p.root);
    const subset: Subset = p.source === 'zengarden' || p.id.startsWith('zengarden') ? 'zengarden' : 'readability';
    pages.push({ id: p.id, subset, origin, path: p.path, note: p.note });
  }
  const tsv = join(dir, 'extra', 'pages.tsv');
  if (!existsSync(tsv)) {
    notes.push(`extra: no ${tsv}; subset skipped`);
    return { pages, roots, notes };
  }
  const extra = parsePagesTsv(readFileSync(tsv, 'utf8'));
  const er = extraRoots(extraNpmDir);
  const missing: string[] = [];
  for (const e of extra) {
    const root = er[e.origin];
    if (!root) throw new Error(`pages.tsv: unknown origin ${e.origin} for ${e.id}`);
    const file = join(root, decodeURIComponent(e.path.split('?')[0]!));
    if (!existsSync(file)) {
      missing.push(e.id);
      continue;
    }
    roots[`extra:${e.origin}`] = root;
    pages.push({ id: e.id, subset: 'extra', origin: `extra:${e.origin}`, path: e.path, note: e.features });
  }
  if (missing.length === extra.length) {
    notes.push(
      `extra: not installed (run: EXTRA_NPM_DIR=${extraNpmDir} bash ${join(dir, 'extra', 'setup.sh')}); ${extra.length} pages skipped`,
    );
  } else if (missing.length) {
    notes.push(`extra: ${missing.length} of ${extra.length} pages not installed, skipped: ${missing.join(', ')}`);
  }
  return { pages, roots, notes };
}
