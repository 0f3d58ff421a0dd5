// The reader at #/archives/{id}: a tab per format (archived pages in sandbox="" iframes, never same-origin
// script), the sanitized readable view, the summary, metadata, each artifact with Retry and download, and
// the other snapshots of the same URL.
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  api,
  ApiError,
  artifactPath,
  artifactSrc,
  getKey,
  FORMAT_LABELS,
  TERMINAL,
  type ArchiveDetail,
  type ArchivePage,
  type ArtifactView,
} from './api.ts';
import { sanitizeReadable } from './sanitize.ts';
import { ArtifactDetails, Snapshots, Summary, Metadata } from './reader-parts.ts';
import { TagsAndNote } from './notes.ts';

const TABS = ['singlefile', 'monolith', 'screenshot', 'pdf', 'readable'];
const busy = (a: ArtifactView) => a.status === 'pending' || a.status === 'running';

interface Readable {
  title?: string;
  byline?: string | null;
  text?: string;
  html?: string;
}

function ReadableView({ id }: { id: string }) {
  const [doc, setDoc] = useState<Readable | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    api<Readable>(artifactPath(id, 'readable')).then(setDoc, (e: unknown) => setError(String((e as Error).message)));
  }, [id]);
  if (error) return h('p', { class: 'error' }, error);
  if (!doc) return h('p', null, 'Loading…');
  return h(
    'article',
    { class: 'readable', lang: undefined },
    doc.title && h('h2', null, doc.title),
    doc.byline && h('p', { class: 'byline' }, doc.byline),
    doc.html ? sanitizeReadable(doc.html) : (doc.text ?? '').split(/\n{2,}/).map((para, i) => h('p', { key: i }, para)),
  );
}

function Frame({ id, format, title }: { id: string; format: string; title: string }) {
  const [src, setSrc] = useState<string | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    setSrc(null);
    setError('');
    let alive = true;
    artifactSrc(id, format).then(
      (s) => alive && setSrc(s),
      (e: unknown) => alive && setError((e as Error).message),
    );
    return () => {
      alive = false;
    };
  }, [id, format]);
  if (error) return h('p', { class: 'error' }, error);
  if (!src) return h('p', null, 'Loading…');
  if (format === 'screenshot') return h('div', { class: 'shot' }, h('img', { src, alt: `Screenshot of ${title}` }));
  // sandbox="" (no allow-scripts, no allow-same-origin): the page renders but none of its script runs.
  const frame = h('iframe', { class: 'frame', src, sandbox: '', title: `${FORMAT_LABELS[format]} of ${title}` });
  if (format !== 'pdf') return frame;
  // Chromium's PDF viewer refuses sandboxed frames (and headless has none): offer the file in its own tab.
  return h(
    'div',
    null,
    h(
      'p',
      { class: 'hint' },
      'If the PDF does not show here, ',
      h('a', { href: src, target: '_blank', rel: 'noopener' }, 'open the PDF'),
      '.',
    ),
    frame,
  );
}

export function Reader({ id }: { id: string }) {
  const [a, setA] = useState<ArchiveDetail | null>(null);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [tab, setTab] = useState<string | null>(null);
  const [snapshots, setSnapshots] = useState<ArchivePage | null>(null);
  const tabRefs = useRef<Record<string, HTMLButtonElement | null>>({});

  const load = () =>
    api<ArchiveDetail>(`/archives/${id}`).then(
      (d) => {
        setA(d);
        setError('');
        return d;
      },
      (e: unknown) => {
        setError(e instanceof ApiError ? e.message : String(e));
        return null;
      },
    );

  useEffect(() => {
    setA(null);
    setTab(null);
    void load().then((d) => {
      if (!d) return;
      api<ArchivePage>(`/archives?${new URLSearchParams({ url: d.url, limit: '50' })}`).then(setSnapshots, () => {});
    });
  }, [id]);

  // Keep the view live while anything is still being captured (after a retry, too).
  useEffect(() => {
    if (!a || (TERMINAL.includes(a.status) && !a.artifacts.some(busy))) return;
    const t = setTimeout(() => void load(), 1000);
    return () => clearTimeout(t);
  }, [a]);

  async function retry(format: string) {
    try {
      await api(`/archives/${id}/retry`, { method: 'POST', json: { formats: [format] } });
      setNotice(`Retrying ${FORMAT_LABELS[format] ?? format}…`);
      await load();
    } catch (e) {
      setNotice(e instanceof ApiError ? e.message : String(e));
    }
  }

  if (error) return h('section', { class: 'card' }, h('p', { class: 'error', role: 'alert' }, error));
  if (!a) return h('section', { class: 'card' }, h('p', null, 'Loading…'));

  const title = a.title || a.url;
  const present = TABS.filter((f) => a.artifacts.some((x) => x.format === f));
  const current = tab && present.includes(tab) ? tab : (present[0] ?? null);
  const art = a.artifacts.find((x) => x.format === current);
  const onTabKey = (e: KeyboardEvent) => {
    const i = present.indexOf(current ?? '');
    const next =
      e.key === 'ArrowRight'
        ? present[(i + 1) % present.length]
        : e.key === 'ArrowLeft'
          ? present[(i - 1 + present.length) % present.length]
          : e.key === 'Home'
            ? present[0]
            : e.key === 'End'
              ? present[present.length - 1]
              : undefined;
    if (!next) return;
    e.preventDefault();
    setTab(next);
    tabRefs.current[next]?.focus();
  };

  let panel;
  if (!art) panel = h('p', null, 'No artifacts.');
  else if (art.status !== 'succeeded')
    panel = h(
      'div',
      { class: 'not-ready' },
      h('p', null, `${FORMAT_LABELS[art.format]} is ${art.status}.`, art.errorMessage ? ` ${art.errorMessage}` : ''),
      (art.status === 'failed' || art.status === 'skipped') &&
        h('button', { onClick: () => void retry(art.format) }, `Retry ${FORMAT_LABELS[art.format]}`),
    );
  else if (art.format === 'readable') panel = h(ReadableView, { id: a.id });
  else panel = h(Frame, { id: a.id, format: art.format, title });

  return h(
    'div',
    { class: 'reader' },
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'reader-title' },
      h('p', null, h('a', { href: '#/' }, '← Library')),
      h('h2', { id: 'reader-title' }, title),
      h(
        'div',
        { role: 'tablist', 'aria-label': 'Formats', class: 'tabs', onKeyDown: onTabKey },
        present.map((f) =>
          h(
            'button',
            {
              key: f,
              role: 'tab',
              id: `tab-${f}`,
              ref: (el: HTMLButtonElement | null) => (tabRefs.current[f] = el),
              'aria-selected': f === current ? 'true' : 'false',
              'aria-controls': 'tab-panel',
              tabIndex: f === current ? 0 : -1,
              onClick: () => setTab(f),
            },
            FORMAT_LABELS[f],
          ),
        ),
      ),
      h(
        'div',
        {
          role: 'tabpanel',
          id: 'tab-panel',
          class: 'panel',
          'aria-labelledby': current ? `tab-${current}` : undefined,
        },
        panel,
      ),
    ),
    h('p', { role: 'status', class: 'message' }, notice),
    h(Summary, { summary: a.summary }),
    h(TagsAndNote, { a, onSaved: setA }),
    h(Metadata, { a }),
    h(ArtifactDetails, { a, onRetry: retry, keyed: Boolean(getKey()) }),
    h(Snapshots, { current: a.id, page: snapshots }),
  );
}
