// The library's filters (status, tag, site, archived from/to), kept in the address (#/?tag=…) so a filtered
// library can be bookmarked and a tag or site link elsewhere in the app opens it filtered.
import { h, type ComponentChild } from 'preact';

export interface Filters {
  status: string;
  tag: string;
  site: string;
  from: string;
  to: string;
}

const KEYS = ['status', 'tag', 'site', 'from', 'to'] as const;
const STATUSES = ['pending', 'running', 'complete', 'partial', 'failed'];

/** The filters named in the hash (#/?status=failed&tag=x), empty strings for the rest. */
export function filtersFromHash(hash: string): Filters {
  const i = hash.indexOf('?');
  const p = new URLSearchParams(i >= 0 ? hash.slice(i + 1) : '');
  return Object.fromEntries(KEYS.map((k) => [k, p.get(k) ?? ''])) as unknown as Filters;
}

/** The filters as query parameters of GET /archives (and of the hash), without the empty ones. */
export function filterParams(f: Filters): URLSearchParams {
  const p = new URLSearchParams();
  for (const k of KEYS) if (f[k].trim()) p.set(k, f[k].trim());
  return p;
}

export const anyFilter = (f: Filters) => KEYS.some((k) => f[k].trim() !== '');

/** Writes the filters into the address without a navigation (no history entry per keystroke). */
export function keepInHash(f: Filters): void {
  const p = filterParams(f).toString();
  history.replaceState(null, '', `${location.pathname}${location.search}#/${p ? `?${p}` : ''}`);
}

function field(id: string, label: string, input: ComponentChild) {
  return h('div', { class: 'filter' }, h('label', { for: id }, label), input);
}

export function FilterBar({ value, onChange }: { value: Filters; onChange: (f: Filters) => void }) {
  const set = (k: keyof Filters) => (e: Event) =>
    onChange({ ...value, [k]: (e.target as HTMLInputElement | HTMLSelectElement).value });
  return h(
    'fieldset',
    { class: 'filters' },
    h('legend', null, 'Filters'),
    field(
      'status-filter',
      'Status',
      h(
        'select',
        { id: 'status-filter', value: value.status, onChange: set('status') },
        h('option', { value: '' }, 'All'),
        STATUSES.map((s) => h('option', { key: s, value: s }, s)),
      ),
    ),
    field('tag-filter', 'Tag', h('input', { id: 'tag-filter', value: value.tag, onChange: set('tag') })),
    field(
      'site-filter',
      'Site',
      h('input', {
        id: 'site-filter',
        value: value.site,
        placeholder: 'example.com',
        autocapitalize: 'none',
        onChange: set('site'),
      }),
    ),
    field(
      'from-filter',
      'Archived from',
      h('input', { id: 'from-filter', type: 'date', value: value.from, onChange: set('from') }),
    ),
    field(
      'to-filter',
      'Archived to',
      h('input', { id: 'to-filter', type: 'date', value: value.to, onChange: set('to') }),
    ),
    anyFilter(value) &&
      h(
        'button',
        { type: 'button', onClick: () => onChange({ status: '', tag: '', site: '', from: '', to: '' }) },
        'Clear filters',
      ),
  );
}
