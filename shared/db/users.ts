// Users: who owns an archive. Created by `htbase user create`, or on first sign-in for an allowed Google or
// Firebase identity. The first admin exists from migration 0004 on; single-process mode without keys acts as it.
import type { Kysely } from 'kysely';
import type { Database, Role, User } from './types.ts';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;

export class UserInputError extends Error {
  override name = 'UserInputError';
}

export async function createUser(
  db: Kysely<Database>,
  input: { name: string; email?: string | null; firebaseUid?: string | null; role?: Role },
): Promise<User> {
  const name = input.name.trim();
  if (!NAME_RE.test(name))
    throw new UserInputError('a user name is 1-100 letters, digits or . _ @ - and starts with a letter or digit');
  const email = input.email?.trim().toLowerCase() || null;
  if (email && !/^[^@\s]+@[^@\s]+$/.test(email)) throw new UserInputError(`"${input.email}" is not an email address`);
  const existing = await db
    .selectFrom('users')
    .select(['name', 'email'])
    .where((eb) => (email ? eb.or([eb('name', '=', name), eb('email', '=', email)]) : eb('name', '=', name)))
    .executeTakeFirst();
  if (existing)
    throw new UserInputError(
      existing.name === name ? `a user named "${name}" exists` : `a user with the email ${email} exists`,
    );
  return db
    .insertInto('users')
    .values({ name, email, firebase_uid: input.firebaseUid ?? null, role: input.role ?? 'member' })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function listUsers(db: Kysely<Database>): Promise<User[]> {
  return db.selectFrom('users').selectAll().orderBy('created_at').orderBy('name').execute();
}

export function findUser(db: Kysely<Database>, id: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

/** By id or by name: what the CLI and the admin's `?owner=` filter accept. */
export function findUserByRef(db: Kysely<Database>, ref: string): Promise<User | undefined> {
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref);
  return db
    .selectFrom('users')
    .selectAll()
    .where(isUuid ? 'id' : 'name', '=', ref)
    .executeTakeFirst();
}

/** The first admin: the owner the single-process mode without keys acts as. */
export function firstAdmin(db: Kysely<Database>): Promise<User> {
  return db
    .selectFrom('users')
    .selectAll()
    .where('role', '=', 'admin')
    .orderBy('created_at')
    .orderBy('id')
    .limit(1)
    .executeTakeFirstOrThrow();
}

/**
 * The user for a verified email (Google ID token) or Firebase uid: found by uid, else by email (and the uid is
 * linked to it), else created as a member. Callers check the allow-list before calling this.
 */
export async function userForIdentity(
  db: Kysely<Database>,
  identity: { email: string | null; firebaseUid?: string | null },
): Promise<User> {
  const email = identity.email?.toLowerCase() ?? null;
  const uid = identity.firebaseUid ?? null;
  if (uid) {
    const byUid = await db.selectFrom('users').selectAll().where('firebase_uid', '=', uid).executeTakeFirst();
    if (byUid) return byUid;
  }
  if (email) {
    const byEmail = await db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    if (byEmail) {
      if (uid && !byEmail.firebase_uid)
        return db
          .updateTable('users')
          .set({ firebase_uid: uid })
          .where('id', '=', byEmail.id)
          .returningAll()
          .executeTakeFirstOrThrow();
      return byEmail;
    }
  }
  if (!email) throw new UserInputError('an identity without an email cannot be given a new user');
  // Concurrent first sign-ins race on the unique email: the loser reads the winner's row.
  const created = await db
    .insertInto('users')
    .values({ name: email, email, firebase_uid: uid, role: 'member' })
    .onConflict((oc) => oc.doNothing())
    .returningAll()
    .executeTakeFirst();
  return created ?? (await db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirstOrThrow());
}
