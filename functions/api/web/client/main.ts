// The web app's shell: hash routing (#/ library, #/archives/{id} reader), the sign-in card (Google, where the
// server offers it, or an API key) shown when the API answers 401, the Web Share Target (/?share-url=…) and the
// service worker registration.
import { h, render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { getKey, onUnauthorized, setKey } from './api.ts';
import { AddForm } from './add.ts';
import { Library } from './library.ts';
import { filtersFromHash } from './filters.ts';
import { Reader } from './reader.ts';
import { CaptureTools } from './capture-tools.ts';
import {
  GoogleSignIn,
  googleSignInOffered,
  loadSignInSettings,
  onGoogleUserChange,
  restoreGoogleSession,
  signOutOfGoogle,
  type SignedIn,
} from './signin.ts';
import './styles.css';
import './views.css';

const route = () => {
  const m = /^#\/archives\/([0-9a-f-]{36})/i.exec(location.hash);
  return m ? { name: 'reader' as const, id: m[1]! } : { name: 'library' as const, filters: location.hash };
};

/** The URL a share sheet handed us: the `url` field, or the first URL inside `text` (Android puts it there). */
function sharedUrl(): string | null {
  const p = new URLSearchParams(location.search);
  const direct = p.get('share-url');
  const found = direct || /https?:\/\/\S+/.exec(`${p.get('share-text') ?? ''} ${p.get('share-title') ?? ''}`)?.[0];
  if (p.has('share-url') || p.has('share-text')) history.replaceState(null, '', location.pathname + location.hash);
  return found || null;
}

function KeyPrompt({ onDone, onSignedIn }: { onDone: () => void; onSignedIn: (who: SignedIn) => void }) {
  const [value, setValue] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const save = (e: Event) => {
    e.preventDefault();
    setKey(value.trim() || null);
    onDone();
  };
  return h(
    'section',
    { class: 'card key', 'aria-labelledby': 'key-heading' },
    h('h2', { id: 'key-heading' }, 'Sign in'),
    h(GoogleSignIn, { onSignedIn }),
    h(
      'p',
      null,
      googleSignInOffered() ? 'Or paste an API key once' : 'Paste an API key once',
      '; it stays in this browser and is sent with every request.',
    ),
    h(
      'form',
      { onSubmit: save },
      h('label', { for: 'api-key' }, 'API key'),
      h(
        'div',
        { class: 'add-row' },
        h('input', {
          id: 'api-key',
          ref: input,
          type: 'password',
          autocomplete: 'off',
          value,
          onInput: (e: Event) => setValue((e.target as HTMLInputElement).value),
        }),
        h('button', { type: 'submit', class: 'primary' }, 'Save key'),
      ),
    ),
    getKey() && h('button', { onClick: () => (setKey(null), onDone()) }, 'Forget the saved key'),
  );
}

function App({ initialUser }: { initialUser: SignedIn | null }) {
  const [where, setWhere] = useState(route());
  const [user, setUser] = useState(initialUser);
  const [asking, setAsking] = useState(false);
  const [refresh, setRefresh] = useState(0);
  const [shared] = useState(sharedUrl);
  const changed = useCallback(() => setRefresh((n) => n + 1), []);

  useEffect(() => {
    const onHash = () => {
      setWhere(route());
      window.scrollTo(0, 0);
    };
    window.addEventListener('hashchange', onHash);
    onUnauthorized(() => setAsking(true));
    onGoogleUserChange(setUser);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const keyDone = () => {
    setAsking(false);
    changed();
  };
  const who = user?.uid ?? '';
  const signedIn = (who: SignedIn) => {
    setUser(who);
    keyDone();
  };
  const signOut = () => {
    // The library re-asks the API, which answers 401 without a credential: the sign-in card comes back.
    void signOutOfGoogle().finally(() => (setUser(null), changed()));
  };
  return h(
    'div',
    { class: 'app' },
    h(
      'a',
      {
        class: 'skip',
        href: '#main',
        onClick: (e: Event) => (e.preventDefault(), document.getElementById('main')?.focus()),
      },
      'Skip to content',
    ),
    h(
      'header',
      { class: 'top' },
      h('h1', null, h('a', { href: '#/' }, 'HT Base')),
      h(
        'nav',
        { 'aria-label': 'Main' },
        user
          ? [
              h('span', { class: 'who' }, `Signed in as ${user.email ?? 'a Google account'}`),
              h('button', { onClick: signOut }, 'Sign out'),
            ]
          : h('button', { onClick: () => setAsking((v) => !v) }, getKey() ? 'API key ✓' : 'API key'),
      ),
    ),
    h(
      'main',
      { id: 'main', tabIndex: -1 },
      asking && h(KeyPrompt, { onDone: keyDone, onSignedIn: signedIn }),
      where.name === 'reader'
        ? h(Reader, { key: `${who}${where.id}`, id: where.id })
        : [
            // Keyed by who is signed in: signing out (or in as another) drops the last person's list and progress.
            h(AddForm, { key: `add${who}`, shared, onChanged: changed }),
            h(Library, { key: `lib${who}${where.filters}`, refresh, initial: filtersFromHash(where.filters) }),
            h(CaptureTools, { key: `tools${who}` }),
          ],
    ),
  );
}

// A Google session kept from an earlier visit is restored first, so the library's first call already carries it.
void loadSignInSettings()
  .then(restoreGoogleSession)
  .then((who) => render(h(App, { initialUser: who }), document.getElementById('root')!));

if ('serviceWorker' in navigator && location.protocol !== 'file:')
  navigator.serviceWorker
    .register('/sw.js')
    .catch((err: unknown) => console.warn('service worker not registered', err));
