// The reader's tags and note: shown as they are, edited in place (PATCH /archives/{id}); the owner's tags
// replace the summary's from then on. Every refusal of the API is said in words, and nothing typed is lost.
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { api, ApiError, type ArchiveDetail } from './api.ts';

/** "a, b ,, c" -> ["a", "b", "c"]: commas separate tags (a tag may hold spaces). */
export const parseTags = (s: string): string[] =>
  s
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);

export function TagsAndNote({ a, onSaved }: { a: ArchiveDetail; onSaved: (d: ArchiveDetail) => void }) {
  const [editing, setEditing] = useState(false);
  const [tags, setTags] = useState('');
  const [note, setNote] = useState('');
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');

  const start = () => {
    setTags(a.tags.join(', '));
    setNote(a.note ?? '');
    setError('');
    setNotice('');
    setEditing(true);
  };
  async function save(e: Event) {
    e.preventDefault();
    setSaving(true);
    try {
      const d = await api<ArchiveDetail>(`/archives/${a.id}`, {
        method: 'PATCH',
        json: { tags: parseTags(tags), note: note.trim() ? note : null },
      });
      onSaved(d);
      setEditing(false);
      setNotice('Tags and note saved.');
    } catch (err) {
      // The form stays open with what was typed, so a refusal (too long, rate limited) costs nothing.
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setSaving(false);
    }
  }

  return h(
    'section',
    { class: 'card notes', 'aria-labelledby': 'notes-heading' },
    h('h2', { id: 'notes-heading' }, 'Tags and note'),
    editing
      ? h(
          'form',
          { onSubmit: save },
          h('label', { for: 'edit-tags' }, 'Tags'),
          h('input', {
            id: 'edit-tags',
            value: tags,
            'aria-describedby': 'edit-tags-hint',
            onInput: (e: Event) => setTags((e.target as HTMLInputElement).value),
          }),
          h('p', { id: 'edit-tags-hint', class: 'hint' }, 'Separate tags with commas.'),
          h('label', { for: 'edit-note' }, 'Note'),
          h('textarea', {
            id: 'edit-note',
            rows: 4,
            maxLength: 4000,
            value: note,
            onInput: (e: Event) => setNote((e.target as HTMLTextAreaElement).value),
          }),
          error && h('p', { class: 'error', role: 'alert' }, error),
          h(
            'div',
            { class: 'row' },
            h('button', { type: 'submit', class: 'primary', disabled: saving }, saving ? 'Saving…' : 'Save'),
            h('button', { type: 'button', onClick: () => setEditing(false) }, 'Cancel'),
          ),
        )
      : [
          a.tags.length > 0
            ? h(
                'ul',
                { key: 't', class: 'tags', 'aria-label': 'Tags' },
                a.tags.map((t) => h('li', { key: t }, h('a', { href: `#/?tag=${encodeURIComponent(t)}` }, t))),
              )
            : h('p', { key: 't', class: 'hint' }, 'No tags.'),
          a.note ? h('p', { key: 'n', class: 'note' }, a.note) : h('p', { key: 'n', class: 'hint' }, 'No note.'),
          h('button', { key: 'e', onClick: start }, 'Edit tags and note'),
        ],
    h('p', { role: 'status', class: 'message' }, notice),
  );
}
