// Small pieces every view shares: status badges, sizes, dates, site names and the artifact progress list.
import { h } from 'preact';
import { FORMAT_LABELS, type ArtifactView } from './api.ts';

export const formatBytes = (n: number | null): string => {
  if (n === null) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
};

export const formatDate = (iso: string): string =>
  new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export const siteOf = (url: string): string => {
  try {
    return new URL(url).hostname.replace(/^www\./, '');
  } catch {
    return url;
  }
};

export function StatusBadge({ status }: { status: string }) {
  return h('span', { class: `badge badge-${status}` }, status);
}

/** One line per artifact, its state in words (screen readers hear the change through the live region). */
export function ArtifactProgress({ artifacts }: { artifacts: Pick<ArtifactView, 'format' | 'status'>[] }) {
  return h(
    'ul',
    { class: 'progress' },
    // The thumbnail is made with the screenshot, never requested: it has no progress of its own to show.
    artifacts
      .filter((a) => a.format !== 'thumbnail')
      .map((a) =>
        h(
          'li',
          { key: a.format, class: `chip chip-${a.status}` },
          `${FORMAT_LABELS[a.format] ?? a.format}: `,
          h('strong', null, a.status),
        ),
      ),
  );
}
