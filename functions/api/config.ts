// Configuration of the cloud API (`--target=api`): the API's settings, the URL signer, and the summary queue
// POST /archives/{id}/summary enqueues on (never Gemini's: the API never calls the model), with the cloud's
// cross-field rules as refinements.
import { z } from 'zod';
import { ApiConfig } from '../../shared/core/config.ts';
import { GcsSignerEnv, gcsSignerRule } from '../../shared/adapters/deps.ts';
import { SummaryTasksEnv, summaryTasksRule } from '../../shared/adapters/cloud-tasks.ts';
import type { FirebaseWebSettings } from './web/serve.ts';

/** GOOGLE_ID_TOKEN_ALLOWED_EMAILS split into addresses and Workspace domains (entries without an @). */
export function idTokenAllowList(c: { GOOGLE_ID_TOKEN_ALLOWED_EMAILS?: string }): {
  emails: string[];
  domains: string[];
} {
  const all = (c.GOOGLE_ID_TOKEN_ALLOWED_EMAILS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return { emails: all.filter((a) => a.includes('@')), domains: all.filter((a) => !a.includes('@')) };
}

/**
 * The web app's "Sign in with Google" (Firebase Authentication / Identity Platform, the mobile app's project):
 * the public web settings the client needs. Without FIREBASE_WEB_API_KEY the button is not shown.
 */
export const FirebaseWebEnv = z.object({
  FIREBASE_WEB_API_KEY: z.string().trim().min(1).optional(),
  /** The project's auth domain (`<project>.firebaseapp.com`, or a custom one). */
  FIREBASE_AUTH_DOMAIN: z
    .string()
    .trim()
    .regex(/^[a-z0-9.-]+(?::\d+)?$/i, 'FIREBASE_AUTH_DOMAIN is a host name, like project.firebaseapp.com')
    .optional(),
  /** host:port of a Firebase Auth emulator: its unsigned tokens are accepted. For local testing only. */
  FIREBASE_AUTH_EMULATOR_HOST: z
    .string()
    .trim()
    .regex(/^[a-z0-9.-]+:\d+$/i, 'FIREBASE_AUTH_EMULATOR_HOST is host:port')
    .optional(),
});
export type FirebaseWebEnv = z.infer<typeof FirebaseWebEnv>;

/** What the web client receives at /app/config.json, or null when Google sign-in is not configured. */
export function firebaseWebSettings(c: FirebaseWebEnv & { FIREBASE_PROJECT_ID?: string }): FirebaseWebSettings | null {
  if (!c.FIREBASE_WEB_API_KEY || !c.FIREBASE_PROJECT_ID) return null;
  return {
    apiKey: c.FIREBASE_WEB_API_KEY,
    authDomain: c.FIREBASE_AUTH_DOMAIN ?? `${c.FIREBASE_PROJECT_ID}.firebaseapp.com`,
    projectId: c.FIREBASE_PROJECT_ID,
    emulatorUrl: c.FIREBASE_AUTH_EMULATOR_HOST ? `http://${c.FIREBASE_AUTH_EMULATOR_HOST}` : null,
  };
}

export const CloudApiConfig = ApiConfig.extend(GcsSignerEnv.shape)
  .extend(SummaryTasksEnv.shape)
  .extend(FirebaseWebEnv.shape)
  .superRefine((c, ctx) => {
    if (c.FIREBASE_WEB_API_KEY && !c.FIREBASE_PROJECT_ID) {
      ctx.addIssue({
        code: 'custom',
        path: ['FIREBASE_WEB_API_KEY'],
        message: 'FIREBASE_WEB_API_KEY needs FIREBASE_PROJECT_ID (the project whose ID tokens the API accepts)',
      });
    }
    if (!c.API_KEYS_REQUIRED && !c.GOOGLE_ID_TOKEN_AUDIENCE) {
      ctx.addIssue({
        code: 'custom',
        path: ['API_KEYS_REQUIRED'],
        message: 'the cloud API needs an auth method: set API_KEYS_REQUIRED=true and/or GOOGLE_ID_TOKEN_AUDIENCE',
      });
    }
    // Without an allow-list every Google account in the world would pass.
    const allow = idTokenAllowList(c);
    if (c.GOOGLE_ID_TOKEN_AUDIENCE && !allow.emails.length && !allow.domains.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['GOOGLE_ID_TOKEN_ALLOWED_EMAILS'],
        message: 'GOOGLE_ID_TOKEN_AUDIENCE needs GOOGLE_ID_TOKEN_ALLOWED_EMAILS (addresses and/or Workspace domains)',
      });
    }
    gcsSignerRule(c, ctx);
    summaryTasksRule(c, ctx);
  });
export type CloudApiConfig = z.infer<typeof CloudApiConfig>;
