// The add form: one URL or a pasted list (one per line), each POSTed to /archive, then live progress per
// artifact by polling GET /archives/{id} every second until the archive is done; refusals in plain words.
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, FORMAT_LABELS, TERMINAL, type ArchiveDetail, type ArtifactView } from './api.ts';
import { ArtifactProgress, StatusBadge } from './ui.ts';

const ALL_FORMATS = ['singlefile', 'monolith', 'pdf', 'screenshot', 'readable'];

interface Job {
  key: number;
  url: string;
  id?: string;
  title?: string | null;
  status: string;
  artifacts: Pick<ArtifactView, 'format' | 'status'>[];
  note?: string;
  error?: string;
}

interface SubmitAnswer {
  id: string;
  status: string;
  deduplicated: boolean;
  links: { artifacts: Record<string, string> };
}

let nextKey = 1;

export const splitUrls = (text: string): string[] =>
  [...new Set(text.split(/[\r\n]+/).map((s) => s.trim()))].filter(Boolean);

export function AddForm({ shared, onChanged }: { shared: string | null; onChanged: () => void }) {
  const [text, setText] = useState('');
  const [formats, setFormats] = useState<string[]>(ALL_FORMATS);
  const [jobs, setJobs] = useState<Job[]>([]);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState('');
  const jobsRef = useRef(jobs);
  jobsRef.current = jobs;
  const update = (key: number, patch: Partial<Job>) =>
    setJobs((js) => js.map((j) => (j.key === key ? { ...j, ...patch } : j)));

  async function archive(urls: string[]) {
    if (!urls.length) return setMessage('Enter a URL to archive.');
    if (!formats.length) return setMessage('Choose at least one format.');
    setBusy(true);
    setMessage(urls.length > 1 ? `Archiving ${urls.length} URLs…` : 'Archiving…');
    const fresh: Job[] = urls.map((url) => ({ key: nextKey++, url, status: 'sending', artifacts: [] }));
    setJobs((js) => [...fresh, ...js]);
    let refused = 0;
    for (let i = 0; i < fresh.length; i++) {
      const job = fresh[i]!;
      try {
        const r = await api<SubmitAnswer>('/archive', { method: 'POST', json: { url: job.url, formats } });
        update(job.key, {
          id: r.id,
          status: r.status,
          // Rows are created pending in the submit transaction: show that until the first poll says otherwise.
          artifacts: Object.keys(r.links.artifacts).map((format) => ({ format, status: 'pending' })),
          note: r.deduplicated ? 'Already archived recently: showing that snapshot.' : undefined,
        });
      } catch (err) {
        refused++;
        const msg = err instanceof ApiError ? err.message : String(err);
        update(job.key, { status: 'refused', error: msg });
        if (err instanceof ApiError && (err.status === 429 || err.status === 401 || err.status === 403)) {
          // The same refusal would meet every remaining URL: say so instead of sending them.
          for (const rest of fresh.slice(i + 1)) update(rest.key, { status: 'not sent', error: msg });
          refused += fresh.length - i - 1;
          break;
        }
      }
    }
    setBusy(false);
    setMessage(refused ? `${refused} of ${urls.length} not archived.` : '');
    if (refused < urls.length) setText('');
    onChanged();
  }

  // Poll every unfinished job once a second; each stops as soon as its archive reaches a final state.
  useEffect(() => {
    const timer = setInterval(() => {
      for (const job of jobsRef.current) {
        if (!job.id || TERMINAL.includes(job.status)) continue;
        api<ArchiveDetail>(`/archives/${job.id}`).then(
          (a) => {
            update(job.key, { status: a.status, title: a.title, artifacts: a.artifacts });
            if (TERMINAL.includes(a.status)) onChanged();
          },
          (err: unknown) => {
            if (err instanceof ApiError && err.status === 404)
              update(job.key, { status: 'failed', error: err.message });
          },
        );
      }
    }, 1000);
    return () => clearInterval(timer);
  }, [onChanged]);

  // A URL shared from another app (Web Share Target) is archived once, as if pasted and submitted.
  useEffect(() => {
    if (shared) void archive([shared]);
  }, [shared]);

  const submit = (e: Event) => {
    e.preventDefault();
    if (!busy) void archive(splitUrls(text));
  };
  const toggle = (f: string) => setFormats((fs) => (fs.includes(f) ? fs.filter((x) => x !== f) : [...fs, f]));

  return h(
    'section',
    { class: 'card add', 'aria-labelledby': 'add-heading' },
    h('h2', { id: 'add-heading' }, 'Add'),
    h(
      'form',
      { onSubmit: submit },
      h('label', { for: 'add-url' }, 'URL'),
      h(
        'div',
        { class: 'add-row' },
        h('textarea', {
          id: 'add-url',
          name: 'url',
          rows: 1,
          placeholder: 'https://example.com',
          'aria-describedby': 'add-hint',
          value: text,
          onInput: (e: Event) => setText((e.target as HTMLTextAreaElement).value),
          // Enter archives; Shift+Enter starts a new line for a hand-typed list (a pasted list keeps its lines).
          onKeyDown: (e: KeyboardEvent) => {
            if (e.key === 'Enter' && !e.shiftKey) submit(e);
          },
        }),
        h('button', { type: 'submit', class: 'primary', disabled: busy }, 'Archive'),
      ),
      h('p', { id: 'add-hint', class: 'hint' }, 'Paste several URLs, one per line, to archive each.'),
      h(
        'details',
        { class: 'formats' },
        h('summary', null, 'Formats'),
        h(
          'fieldset',
          null,
          h('legend', { class: 'visually-hidden' }, 'Formats to capture'),
          ALL_FORMATS.map((f) =>
            h(
              'label',
              { key: f, class: 'check' },
              h('input', { type: 'checkbox', checked: formats.includes(f), onChange: () => toggle(f) }),
              ` ${FORMAT_LABELS[f]}`,
            ),
          ),
        ),
      ),
    ),
    h('p', { role: 'status', class: 'message' }, message),
    jobs.length > 0 &&
      h(
        'ul',
        { class: 'jobs', 'aria-label': 'Progress', 'aria-live': 'polite' },
        jobs.map((j) =>
          h(
            'li',
            { key: j.key, class: 'job' },
            h(
              'div',
              { class: 'job-head' },
              j.id ? h('a', { href: `#/archives/${j.id}` }, j.title || j.url) : h('span', { class: 'url' }, j.url),
              ' ',
              h(StatusBadge, { status: j.status }),
            ),
            j.error && h('p', { class: 'error', role: 'alert' }, j.error),
            j.note && h('p', { class: 'hint' }, j.note),
            j.artifacts.length > 0 && h(ArtifactProgress, { artifacts: j.artifacts }),
          ),
        ),
      ),
  );
}
