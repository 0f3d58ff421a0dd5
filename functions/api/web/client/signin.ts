// Google sign-in's place in the app: /app/config.json says whether it is offered; the Firebase SDK chunk
// (client/firebase.ts) is imported only when it is used (a session kept from an earlier visit, or the button), so
// the first load of a keyless or key-pasting user never carries it.
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { setIdTokenSource, setUnauthorizedText, type FirebaseWebSettings } from './api.ts';
import type { GoogleSession, SignedIn } from './firebase.ts';

export type { SignedIn };

/** Set in this browser while a Google session is kept, so the next visit restores it before its first call. */
const HINT = 'htbase.googleSession';
const hint = {
  get: () => {
    try {
      return localStorage.getItem(HINT) === '1';
    } catch {
      return false;
    }
  },
  set: (on: boolean) => {
    try {
      if (on) localStorage.setItem(HINT, '1');
      else localStorage.removeItem(HINT);
    } catch {
      // storage disabled: the session lasts this page only
    }
  },
};

let settings: FirebaseWebSettings | null = null;
let session: Promise<GoogleSession> | null = null;
/** The app shell's setter of who is signed in: the SDK may end a session itself (a revoked or disabled account). */
let onUserChange: (who: SignedIn | null) => void = () => {};
export function onGoogleUserChange(fn: (who: SignedIn | null) => void): void {
  onUserChange = fn;
}

/** Reads the server's sign-in settings once; null (no button) when it offers none or cannot say. */
export async function loadSignInSettings(): Promise<FirebaseWebSettings | null> {
  try {
    const res = await fetch('/app/config.json');
    if (res.ok) settings = ((await res.json()) as { firebase?: FirebaseWebSettings | null }).firebase ?? null;
    if (settings) setUnauthorizedText('Sign in to continue: with Google, or paste an API key.');
  } catch {
    settings = null;
  }
  return settings;
}

export const googleSignInOffered = () => settings !== null;

function googleSession(): Promise<GoogleSession> {
  if (!settings) return Promise.reject(new Error('Google sign-in is not offered'));
  const s = settings;
  session ??= import('./firebase.ts').then(
    (m) => {
      const started = m.startGoogleSession(s);
      setIdTokenSource(started.token);
      void started.ready.then(() =>
        started.onChange((who) => {
          if (!who) hint.set(false);
          onUserChange(who);
        }),
      );
      return started;
    },
    (err: unknown) => {
      session = null; // a later click tries again
      throw err;
    },
  );
  return session;
}

/** Before the first render: restores the kept session, so the app's first API call already carries its token. */
export async function restoreGoogleSession(): Promise<SignedIn | null> {
  if (!settings || !hint.get()) return null;
  try {
    const s = await googleSession();
    await s.ready;
    const who = s.current();
    if (!who) hint.set(false);
    return who;
  } catch {
    return null;
  }
}

export async function signOutOfGoogle(): Promise<void> {
  const s = await session;
  hint.set(false);
  // The token source stays: it answers null while no one is signed in, and the next sign-in's token after.
  await s?.signOut();
}

/** The "Sign in with Google" button of the sign-in card (nothing when the server offers no Google sign-in). */
export function GoogleSignIn({ onSignedIn }: { onSignedIn: (who: SignedIn) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [email, setEmail] = useState('');
  if (!settings) return null;
  const emulator = !!settings.emulatorUrl;
  // Fetch the SDK as the pointer nears the button: the popup must open while the click still counts as one.
  const preload = () => void googleSession().catch(() => {});
  const signIn = async () => {
    setBusy(true);
    setError(null);
    try {
      const s = await googleSession();
      await s.signIn(email);
      const who = s.current();
      if (!who) throw new Error('no user after sign-in');
      hint.set(true);
      onSignedIn(who);
    } catch (err) {
      setError(
        err instanceof Error && err.name === 'SignInError'
          ? err.message
          : 'Google sign-in could not start; check the connection and try again.',
      );
    } finally {
      setBusy(false);
    }
  };
  return h(
    'div',
    { class: 'google-sign-in' },
    emulator && [
      h('label', { for: 'emulator-email' }, 'Emulator account email'),
      h('input', {
        id: 'emulator-email',
        type: 'email',
        autocomplete: 'email',
        value: email,
        onInput: (e: Event) => setEmail((e.target as HTMLInputElement).value),
      }),
    ],
    h(
      'button',
      { type: 'button', class: 'primary', onClick: signIn, onPointerEnter: preload, onFocus: preload, disabled: busy },
      busy ? 'Signing in…' : 'Sign in with Google',
    ),
    error && h('p', { role: 'alert', class: 'error' }, error),
  );
}
