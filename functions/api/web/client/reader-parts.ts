// The reader's side panels: the summary (key points, tags), the capture metadata, each artifact's status,
// size and sha256 with Retry and download, and the other snapshots of the same URL.
import { h } from 'preact';
import {
  artifactPath,
  artifactSrc,
  FORMAT_LABELS,
  type ArchiveDetail,
  type ArchivePage,
  type SummaryView,
} from './api.ts';
import { StatusBadge, formatBytes, formatDate } from './ui.ts';

export function Summary({ summary }: { summary: SummaryView | null }) {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'summary-heading' },
    h('h2', { id: 'summary-heading' }, 'Summary'),
    !summary
      ? h('p', { class: 'hint' }, 'No summary yet.')
      : [
          h('p', { key: 's' }, summary.summary),
          summary.keyPoints.length > 0 &&
            h(
              'ul',
              { key: 'k', 'aria-label': 'Key points' },
              summary.keyPoints.map((k, i) => h('li', { key: i }, k)),
            ),
          summary.tags.length > 0 &&
            h(
              'ul',
              { key: 't', class: 'tags', 'aria-label': 'Summary tags' },
              summary.tags.map((t) => h('li', { key: t }, t)),
            ),
        ],
  );
}

const link = (url: string | null) =>
  url ? h('a', { href: url, rel: 'noopener noreferrer', target: '_blank' }, url) : '—';

export function Metadata({ a }: { a: ArchiveDetail }) {
  const rows: [string, unknown][] = [
    ['URL', link(a.url)],
    ['Final URL', link(a.finalUrl)],
    ['HTTP status', a.httpStatus ?? '—'],
    ['Status', h(StatusBadge, { status: a.status })],
    ['Site', a.siteName ?? '—'],
    ['Byline', a.byline ?? '—'],
    ['Words', a.wordCount ?? '—'],
    ['Archived', formatDate(a.createdAt)],
    ['Warnings', a.warnings?.length ? a.warnings.join(', ') : 'none'],
  ];
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'meta-heading' },
    h('h2', { id: 'meta-heading' }, 'Metadata'),
    h(
      'dl',
      { class: 'meta' },
      rows.map(([k, v]) => [h('dt', { key: `${k}-t` }, k), h('dd', { key: `${k}-d` }, v as string)]),
    ),
  );
}

/** With an API key a plain link cannot carry the Bearer header: fetch the bytes and save them from a blob. */
async function download(e: Event, id: string, format: string) {
  e.preventDefault();
  const src = await artifactSrc(id, format);
  const a = document.createElement('a');
  a.href = src;
  a.download = `${id}-${format}`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(src), 10_000);
}

/** The reader's tab order, so the files list reads in the same order as the tabs. */
const ORDER = ['singlefile', 'monolith', 'screenshot', 'pdf', 'readable', 'original', 'thumbnail'];

export function ArtifactDetails(props: { a: ArchiveDetail; onRetry: (f: string) => void; keyed: boolean }) {
  const { a } = props;
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'artifacts-heading' },
    h('h2', { id: 'artifacts-heading' }, 'Files'),
    h(
      'ul',
      { class: 'artifacts' },
      [...a.artifacts]
        .sort((x, y) => ORDER.indexOf(x.format) - ORDER.indexOf(y.format))
        .map((x) => {
          const label = FORMAT_LABELS[x.format] ?? x.format;
          return h(
            'li',
            { key: x.format, class: 'artifact' },
            h('div', { class: 'artifact-head' }, h('strong', null, label), ' ', h(StatusBadge, { status: x.status })),
            h(
              'dl',
              { class: 'meta' },
              h('dt', null, 'Size'),
              h('dd', null, formatBytes(x.sizeBytes)),
              h('dt', null, 'SHA-256'),
              h('dd', null, h('code', { class: 'hash' }, x.sha256 ?? '—')),
              x.errorMessage && [
                h('dt', { key: 'e' }, 'Error'),
                h('dd', { key: 'm' }, `${x.errorCode}: ${x.errorMessage}`),
              ],
            ),
            h(
              'div',
              { class: 'actions' },
              x.status === 'succeeded' &&
                h(
                  'a',
                  {
                    class: 'button',
                    href: artifactPath(a.id, x.format),
                    download: '',
                    onClick: props.keyed ? (e: Event) => void download(e, a.id, x.format) : undefined,
                  },
                  `Download ${label}`,
                ),
              (x.status === 'failed' || x.status === 'skipped') &&
                h('button', { onClick: () => props.onRetry(x.format) }, `Retry ${label}`),
            ),
          );
        }),
    ),
  );
}

export function Snapshots({ current, page }: { current: string; page: ArchivePage | null }) {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'snapshots-heading' },
    h('h2', { id: 'snapshots-heading' }, 'Snapshots of this URL'),
    !page
      ? h('p', null, 'Loading…')
      : h(
          'ul',
          { class: 'snapshots' },
          page.items.map((s) =>
            h(
              'li',
              { key: s.id },
              s.id === current
                ? h('span', { 'aria-current': 'page' }, `${formatDate(s.createdAt)} (this one)`)
                : h('a', { href: `#/archives/${s.id}` }, formatDate(s.createdAt)),
              ' ',
              h(StatusBadge, { status: s.status }),
            ),
          ),
        ),
  );
}
