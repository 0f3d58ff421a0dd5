// "Sign in with Google" through Firebase Authentication / Identity Platform (the mobile app's project, so the same
// uid): loaded by a dynamic import from main.ts, so the SDK is a chunk of its own and never part of the first load.
// The SDK keeps the session in IndexedDB and refreshes the ID token before it expires; api.ts asks it per request.
import { initializeApp } from 'firebase/app';
import {
  GoogleAuthProvider,
  connectAuthEmulator,
  getAuth,
  onIdTokenChanged,
  signInWithCredential,
  signInWithPopup,
  signOut,
  type Auth,
} from 'firebase/auth';
import type { FirebaseWebSettings } from './api.ts';

export interface SignedIn {
  uid: string;
  email: string | null;
}

export interface GoogleSession {
  /** Resolves once a session kept from an earlier visit is restored (or known to be absent). */
  ready: Promise<void>;
  current(): SignedIn | null;
  /** A valid ID token, refreshed by the SDK when it is about to expire; null when signed out. */
  token(): Promise<string | null>;
  /** `emulatorEmail`: the account to sign in as on a Firebase Auth emulator (there is no Google popup there). */
  signIn(emulatorEmail?: string): Promise<void>;
  signOut(): Promise<void>;
  onChange(fn: (who: SignedIn | null) => void): () => void;
}

export function startGoogleSession(settings: FirebaseWebSettings): GoogleSession {
  const app = initializeApp({
    apiKey: settings.apiKey,
    authDomain: settings.authDomain,
    projectId: settings.projectId,
  });
  const auth: Auth = getAuth(app);
  if (settings.emulatorUrl) connectAuthEmulator(auth, settings.emulatorUrl, { disableWarnings: true });
  const who = (): SignedIn | null =>
    auth.currentUser ? { uid: auth.currentUser.uid, email: auth.currentUser.email } : null;
  return {
    ready: auth.authStateReady(),
    current: who,
    token: async () => (auth.currentUser ? auth.currentUser.getIdToken() : null),
    async signIn(emulatorEmail) {
      if (settings.emulatorUrl) {
        // The emulator's popup needs Google's gapi loader, which a test machine cannot reach; a Google
        // credential whose id_token is the account's claims is the emulator's documented way to sign in.
        const email = (emulatorEmail ?? '').trim().toLowerCase();
        if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new SignInError('Enter the test account’s email address.');
        const claims = JSON.stringify({ sub: `emu-${email}`, email, email_verified: true });
        await signInWithCredential(auth, GoogleAuthProvider.credential(claims)).catch(rethrow);
        return;
      }
      const provider = new GoogleAuthProvider();
      provider.setCustomParameters({ prompt: 'select_account' });
      await signInWithPopup(auth, provider).catch(rethrow);
    },
    signOut: () => signOut(auth),
    onChange: (fn) => onIdTokenChanged(auth, () => fn(who())),
  };
}

export class SignInError extends Error {
  override name = 'SignInError';
}

/** The SDK's error codes as sentences a person can act on. */
function rethrow(err: unknown): never {
  const code = (err as { code?: string }).code ?? '';
  const messages: Record<string, string> = {
    'auth/popup-closed-by-user': 'Sign-in was cancelled before it finished.',
    'auth/cancelled-popup-request': 'Sign-in was cancelled before it finished.',
    'auth/popup-blocked': 'The browser blocked the Google sign-in window: allow pop-ups for this site and try again.',
    'auth/network-request-failed': 'Google sign-in cannot be reached; check the connection.',
    'auth/unauthorized-domain':
      'This address is not an authorised domain of the Firebase project (Authentication › Settings).',
    'auth/user-disabled': 'This account is disabled.',
    'auth/operation-not-allowed': 'Google sign-in is not enabled in the Firebase project.',
    'auth/too-many-requests': 'Too many sign-in attempts: wait a moment and try again.',
  };
  throw new SignInError(messages[code] ?? `Google sign-in failed${code ? ` (${code})` : ''}.`);
}
