// The library at `/`: newest archives first with cursor paging, filters (filters.ts), search (GET /archives?q=),
// each archive's thumbnail, site, date, status and tags, and bulk delete / archive again of the selected ones.
import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, artifactSrc, type ArchiveItem, type ArchivePage } from './api.ts';
import { FilterBar, anyFilter, filterParams, keepInHash, type Filters } from './filters.ts';
import { sanitizeSnippet } from './sanitize.ts';
import { StatusBadge, formatDate, siteOf } from './ui.ts';

/** The thumbnail artifact (a small WebP made with the screenshot), loaded lazily by the browser. */
function Thumb({ id, ready }: { id: string; ready: boolean }) {
  const [src, setSrc] = useState<string | null>(null);
  const [broken, setBroken] = useState(false);
  useEffect(() => {
    if (!ready) return;
    let alive = true;
    artifactSrc(id, 'thumbnail').then(
      (s) => alive && setSrc(s),
      () => alive && setBroken(true),
    );
    return () => {
      alive = false;
    };
  }, [id, ready]);
  if (!src || broken) return h('div', { class: 'thumb thumb-empty', 'aria-hidden': 'true' });
  return h('img', {
    class: 'thumb',
    src,
    alt: '',
    loading: 'lazy',
    decoding: 'async',
    width: 160,
    height: 100,
    onError: () => setBroken(true),
  });
}

function Item(props: {
  item: ArchiveItem;
  selected: boolean;
  onSelect: (on: boolean) => void;
  onFilter: (f: Partial<Filters>) => void;
}) {
  const { item, selected } = props;
  const title = item.title || item.url;
  const site = item.site ?? siteOf(item.finalUrl ?? item.url);
  return h(
    'li',
    { class: `item${selected ? ' selected' : ''}` },
    h('input', {
      type: 'checkbox',
      class: 'select',
      checked: selected,
      'aria-label': `Select ${title}`,
      onChange: (e: Event) => props.onSelect((e.target as HTMLInputElement).checked),
    }),
    h(Thumb, { id: item.id, ready: Boolean(item.links.thumbnail) }),
    h(
      'div',
      { class: 'item-body' },
      h('h3', null, h('a', { href: `#/archives/${item.id}` }, title)),
      h(
        'p',
        { class: 'sub' },
        h(
          'button',
          { class: 'linkish', title: `Only archives from ${site}`, onClick: () => props.onFilter({ site }) },
          item.siteName || site,
        ),
        h('time', { dateTime: item.createdAt }, formatDate(item.createdAt)),
        h(StatusBadge, { status: item.status }),
      ),
      item.snippet
        ? h('p', { class: 'snippet' }, sanitizeSnippet(item.snippet))
        : item.excerpt && h('p', { class: 'excerpt' }, item.excerpt),
      item.tags.length > 0 &&
        h(
          'ul',
          { class: 'tags', 'aria-label': 'Tags' },
          item.tags.map((t) =>
            h(
              'li',
              { key: t },
              h('button', { class: 'linkish', 'aria-label': `Tag ${t}`, onClick: () => props.onFilter({ tag: t }) }, t),
            ),
          ),
        ),
    ),
  );
}

export function Library({ refresh, initial }: { refresh: number; initial: Filters }) {
  const [query, setQuery] = useState('');
  const [q, setQ] = useState('');
  const [filters, setFilters] = useState<Filters>(initial);
  const [sort, setSort] = useState<'relevance' | 'date'>('relevance');
  const [items, setItems] = useState<ArchiveItem[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [selected, setSelected] = useState<string[]>([]);
  const [confirming, setConfirming] = useState(false);

  async function load(after: string | null) {
    setLoading(true);
    const params = filterParams(filters);
    params.set('limit', '20');
    if (q) params.set('q', q);
    if (q) params.set('sort', sort);
    if (after) params.set('cursor', after);
    try {
      const page = await api<ArchivePage>(`/archives?${params}`);
      setItems((old) => (after ? [...old, ...page.items] : page.items));
      setCursor(page.nextCursor);
      setError('');
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setLoading(false);
    }
  }

  useEffect(() => {
    keepInHash(filters);
    void load(null);
  }, [q, sort, filters, refresh]);
  const filterBy = (f: Partial<Filters>) => setFilters((old) => ({ ...old, ...f }));
  // Search as one types, once the typing pauses.
  useEffect(() => {
    const t = setTimeout(() => setQ(query.trim()), 300);
    return () => clearTimeout(t);
  }, [query]);

  async function bulk(kind: 'delete' | 'again') {
    setConfirming(false);
    const chosen = items.filter((i) => selected.includes(i.id));
    let failed = 0;
    for (const it of chosen) {
      try {
        if (kind === 'delete') await api(`/archives/${it.id}`, { method: 'DELETE' });
        else await api('/archive', { method: 'POST', json: { url: it.url, force: true } });
      } catch (err) {
        failed++;
        setError(err instanceof ApiError ? err.message : String(err));
      }
    }
    const n = chosen.length - failed;
    setNotice(kind === 'delete' ? `Deleted ${n} archive${n === 1 ? '' : 's'}.` : `Archiving ${n} again.`);
    setSelected([]);
    await load(null);
  }

  const count = selected.length;
  return h(
    'section',
    { class: 'card library', 'aria-labelledby': 'library-heading' },
    h('h2', { id: 'library-heading' }, q ? `Results for “${q}”` : 'Library'),
    h(
      'div',
      { class: 'toolbar' },
      h(
        'form',
        { role: 'search', class: 'search', onSubmit: (e: Event) => (e.preventDefault(), setQ(query.trim())) },
        h('label', { for: 'search' }, 'Search'),
        h('input', {
          id: 'search',
          type: 'search',
          value: query,
          placeholder: 'Words, titles, URLs',
          onInput: (e: Event) => setQuery((e.target as HTMLInputElement).value),
        }),
      ),
      q &&
        h(
          'div',
          { class: 'filter' },
          h('label', { for: 'sort' }, 'Sort'),
          h(
            'select',
            {
              id: 'sort',
              value: sort,
              onChange: (e: Event) => setSort((e.target as HTMLSelectElement).value as 'relevance' | 'date'),
            },
            h('option', { value: 'relevance' }, 'Best match'),
            h('option', { value: 'date' }, 'Newest first'),
          ),
        ),
    ),
    h(FilterBar, { value: filters, onChange: setFilters }),
    h(
      'div',
      { class: 'bulk', role: 'group', 'aria-label': 'Selected archives' },
      h('span', null, count ? `${count} selected` : 'Select archives to act on several.'),
      confirming
        ? [
            h('span', { key: 'q', class: 'confirm' }, `Delete ${count} archive${count === 1 ? '' : 's'}?`),
            h('button', { key: 'y', class: 'danger', onClick: () => void bulk('delete') }, 'Confirm delete'),
            h('button', { key: 'n', onClick: () => setConfirming(false) }, 'Cancel'),
          ]
        : [
            h('button', { key: 'd', disabled: !count, onClick: () => setConfirming(true) }, 'Delete selected'),
            h('button', { key: 'a', disabled: !count, onClick: () => void bulk('again') }, 'Archive selected again'),
          ],
    ),
    h('p', { role: 'status', class: 'message' }, notice),
    error && h('p', { class: 'error', role: 'alert' }, error),
    items.length === 0 &&
      !loading &&
      !error &&
      h('p', { class: 'empty' }, q || anyFilter(filters) ? 'Nothing matches.' : 'No archives yet.'),
    h(
      'ul',
      { class: 'items', 'aria-label': 'Archives', 'aria-busy': loading ? 'true' : 'false' },
      items.map((it) =>
        h(Item, {
          key: it.id,
          item: it,
          onFilter: filterBy,
          selected: selected.includes(it.id),
          onSelect: (on) => setSelected((s) => (on ? [...s, it.id] : s.filter((x) => x !== it.id))),
        }),
      ),
    ),
    cursor && h('button', { class: 'more', disabled: loading, onClick: () => void load(cursor) }, 'Load more'),
  );
}
