// The cookie vault: AES-256-GCM (node:crypto) over each site's cookie list, bound to (user, domain) as associated
// data. The key comes from COOKIE_ENCRYPTION_KEY (the cloud: Secret Manager) or a key file made 0600 on first use.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { PermanentError } from '../core/errors.ts';

const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface CookieVault {
  seal(plain: Buffer, aad: string): Buffer;
  open(sealed: Buffer, aad: string): Buffer;
}

export function createVault(key: Buffer): CookieVault {
  if (key.length !== 32) throw new Error('the cookie key must be 32 bytes (AES-256)');
  return {
    seal(plain, aad) {
      const iv = randomBytes(IV_BYTES);
      const c = createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(Buffer.from(aad, 'utf8'));
      const body = Buffer.concat([c.update(plain), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]);
    },
    open(sealed, aad) {
      const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
      d.setAAD(Buffer.from(aad, 'utf8'));
      d.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      try {
        return Buffer.concat([d.update(sealed.subarray(IV_BYTES + TAG_BYTES)), d.final()]);
      } catch {
        // Wrong key (rotated secret, another instance's file) or a tampered row: never a partial plaintext.
        throw new PermanentError('internal', 'stored cookies cannot be decrypted with the configured key');
      }
    },
  };
}

/** A base64 (or 64 hex digit) 32-byte key, as COOKIE_ENCRYPTION_KEY holds it. */
export function parseKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32)
    throw new Error('COOKIE_ENCRYPTION_KEY must be 32 bytes, base64 or hex (make one: openssl rand -base64 32)');
  return key;
}

/**
 * The single process's key: read from `path`, or created there (mode 0600, exclusively, so two processes starting
 * at once agree on one key). A file others can read is refused: it would hand out every stored session.
 */
export async function loadOrCreateKeyFile(path: string): Promise<Buffer> {
  try {
    const fh = await open(path, 'wx', 0o600);
    try {
      const key = randomBytes(32);
      await fh.writeFile(`${key.toString('base64')}\n`);
      return key;
    } finally {
      await fh.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const mode = (await stat(path)).mode & 0o777;
  if (mode & 0o077)
    throw new Error(`the cookie key file ${path} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
  return parseKey(await readFile(path, 'utf8'));
}

/**
 * The vault from configuration: COOKIE_ENCRYPTION_KEY when set, else the key file (single process only; the cloud
 * passes no file, and then logged-in capture is unavailable: null). Loaded once, on first use.
 */
export function vaultFromConfig(o: { key?: string; keyFile?: string }): (() => Promise<CookieVault>) | null {
  if (!o.key && !o.keyFile) return null;
  let loading: Promise<CookieVault> | null = null;
  return () =>
    (loading ??= (o.key ? Promise.resolve(parseKey(o.key)) : loadOrCreateKeyFile(o.keyFile!)).then(createVault)).catch(
      (err) => {
        loading = null;
        throw err;
      },
    );
}
