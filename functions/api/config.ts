// Configuration of the cloud API (`--target=api`): the API's settings, the URL signer, and the summary queue
// POST /archives/{id}/summary enqueues on (never Gemini's: the API never calls the model), with the cloud's
// cross-field rules as refinements.
import { z } from 'zod';
import { ApiConfig } from '../../shared/core/config.ts';
import { GcsSignerEnv, gcsSignerRule } from '../../shared/adapters/deps.ts';
import { SummaryTasksEnv, summaryTasksRule } from '../../shared/adapters/cloud-tasks.ts';

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

export const CloudApiConfig = ApiConfig.extend(GcsSignerEnv.shape)
  .extend(SummaryTasksEnv.shape)
  .superRefine((c, ctx) => {
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
