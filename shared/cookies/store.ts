// Per-user cookie rows (table user_cookies, migration 0010): replace a site's cookies, list sites (never values),
// delete a site, and the worker's lookup of the cookies that domain-match a capture's target.
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../db/types.ts';
import type { CookieVault } from './vault.ts';
import { candidateDomains, domainMatches } from './parse.ts';
import type { CookieSource, SiteCookie } from './types.ts';

interface UserCookiesTable {
  user_id: string;
  domain: string;
  sealed: Buffer;
  cookie_count: number;
  expires_at: Date | null;
  updated_at?: Date;
}

export interface CookieSite {
  domain: string;
  cookies: number;
  /** The latest expiry among the site's cookies; null when one is a session cookie. */
  expiresAt: Date | null;
  updatedAt: Date;
}

const tables = (db: Kysely<Database>) => db.withTables<{ user_cookies: UserCookiesTable }>();
const aad = (userId: string, domain: string) => `htbase-cookies:v1:${userId}:${domain}`;

export interface CookieStore extends CookieSource {
  /** Replaces the stored cookies of every domain present in `cookies`; other domains are kept. */
  replace(userId: string, cookies: SiteCookie[]): Promise<string[]>;
  list(userId: string): Promise<CookieSite[]>;
  remove(userId: string, domain: string): Promise<boolean>;
}

/**
 * `vault` is asked for only when a value is sealed or opened: the single process creates its key file on the first
 * cookie upload, not at start-up, and listing or deleting sites needs no key at all.
 */
export function createCookieStore(
  db: Kysely<Database>,
  vault: () => Promise<CookieVault>,
  now = () => Date.now(),
): CookieStore {
  const t = tables(db);
  return {
    async replace(userId, cookies) {
      const byDomain = new Map<string, SiteCookie[]>();
      for (const c of cookies) byDomain.set(c.domain, [...(byDomain.get(c.domain) ?? []), c]);
      const v = await vault();
      await t.transaction().execute(async (trx) => {
        for (const [domain, list] of byDomain) {
          const sealed = v.seal(Buffer.from(JSON.stringify(list), 'utf8'), aad(userId, domain));
          const session = list.some((c) => c.expires === null);
          const expiresAt = session ? null : new Date(Math.max(...list.map((c) => c.expires!)) * 1000);
          await trx
            .insertInto('user_cookies')
            .values({ user_id: userId, domain, sealed, cookie_count: list.length, expires_at: expiresAt })
            .onConflict((oc) =>
              oc.columns(['user_id', 'domain']).doUpdateSet({
                sealed,
                cookie_count: list.length,
                expires_at: expiresAt,
                updated_at: sql<Date>`now()`,
              }),
            )
            .execute();
        }
      });
      return [...byDomain.keys()].sort();
    },
    async list(userId) {
      const rows = await t
        .selectFrom('user_cookies')
        .select(['domain', 'cookie_count', 'expires_at', 'updated_at'])
        .where('user_id', '=', userId)
        .orderBy('domain')
        .execute();
      return rows.map((r) => ({
        domain: r.domain,
        cookies: r.cookie_count,
        expiresAt: r.expires_at,
        updatedAt: r.updated_at!,
      }));
    },
    async remove(userId, domain) {
      const r = await t
        .deleteFrom('user_cookies')
        .where('user_id', '=', userId)
        .where('domain', '=', domain.toLowerCase().replace(/^\./, ''))
        .executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async forTarget(articleId, target) {
      const owner = await db.selectFrom('articles').select('owner_id').where('id', '=', articleId).executeTakeFirst();
      if (!owner) return [];
      const rows = await t
        .selectFrom('user_cookies')
        .select(['domain', 'sealed'])
        .where('user_id', '=', owner.owner_id)
        .where('domain', 'in', candidateDomains(target.hostname))
        .execute();
      if (rows.length === 0) return [];
      const v = await vault();
      const nowSec = now() / 1000;
      return rows.flatMap((r) =>
        (JSON.parse(v.open(r.sealed, aad(owner.owner_id, r.domain)).toString('utf8')) as SiteCookie[]).filter(
          (c) => domainMatches(target.hostname, c) && (c.expires === null || c.expires > nowSec),
        ),
      );
    },
  };
}
