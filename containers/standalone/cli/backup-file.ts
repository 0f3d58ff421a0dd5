// The `htbase backup` file: gzip of JSON-line records, where a blob record's line is followed by its raw bytes.
// A header names the format and the schema's migrations; a trailer with the counts proves the file is whole.
import { createHash } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';

export const BACKUP_FORMAT = 'htbase-backup';
export const BACKUP_VERSION = 1;

export interface BackupHeader {
  kind: 'header';
  format: typeof BACKUP_FORMAT;
  version: number;
  createdAt: string;
  /** Migrations applied to the database that was backed up: a restore needs all of them known. */
  migrations: string[];
  /** Tables in insertion order (referenced tables first). */
  tables: string[];
}
export interface RowsRecord {
  kind: 'rows';
  table: string;
  /** Each row as PostgreSQL's to_jsonb gives it (types round-trip through jsonb_populate_recordset). */
  rows: Record<string, unknown>[];
}
export interface BlobRecord {
  kind: 'blob';
  key: string;
  size: number;
  sha256: string;
  contentType: string;
  metadata: Record<string, string>;
}
export interface TrailerRecord {
  kind: 'end';
  rows: Record<string, number>;
  blobs: number;
}
export type BackupRecord = BackupHeader | RowsRecord | BlobRecord | TrailerRecord;

export class BackupFormatError extends Error {
  override name = 'BackupFormatError';
}

/** Writes records to `out`, honouring backpressure. */
export function backupWriter(out: Writable) {
  const write = (chunk: Buffer | string) =>
    new Promise<void>((ok, fail) => {
      const cb = (err?: Error | null) => (err ? fail(err) : ok());
      if (!out.write(chunk)) out.once('drain', () => cb());
      else process.nextTick(cb);
    });
  return {
    record: (r: Exclude<BackupRecord, BlobRecord>) => write(`${JSON.stringify(r)}\n`),
    /** Streams a blob's bytes after its record; fails unless they match the size and sha256 the record states. */
    async blob(r: BlobRecord, body: Readable): Promise<void> {
      await write(`${JSON.stringify(r)}\n`);
      const hash = createHash('sha256');
      let n = 0;
      for await (const c of body) {
        const b = c as Buffer;
        n += b.length;
        if (n > r.size) break;
        hash.update(b);
        await write(b);
      }
      const sha = hash.digest('hex');
      if (n !== r.size || sha !== r.sha256)
        throw new BackupFormatError(
          `${r.key} does not match its recorded size and sha256 (it changed during the backup, or is damaged: ` +
            'run `htbase verify`)',
        );
    },
  };
}

/** Reads records back from a (gunzipped) stream: lines, and after a blob record exactly its bytes. */
/** A record as read back: blob records carry their (checked) bytes. */
export type ReadRecord = Exclude<BackupRecord, BlobRecord> | (BlobRecord & { bytes: Buffer });

export async function* readBackup(input: Readable): AsyncGenerator<ReadRecord> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let buf: Buffer = Buffer.alloc(0);
  let done = false;
  const more = async () => {
    const n = await it.next();
    if (n.done) done = true;
    else buf = buf.length ? Buffer.concat([buf, n.value]) : n.value;
  };
  const line = async (): Promise<string | null> => {
    for (;;) {
      const i = buf.indexOf(10);
      if (i >= 0) {
        const s = buf.subarray(0, i).toString('utf8');
        buf = buf.subarray(i + 1);
        return s;
      }
      if (done) {
        if (buf.length) throw new BackupFormatError('the backup file ends in the middle of a record');
        return null;
      }
      await more();
    }
  };
  const bytes = async (n: number): Promise<Buffer> => {
    while (buf.length < n && !done) await more();
    if (buf.length < n) throw new BackupFormatError('the backup file ends in the middle of a file');
    const b = Buffer.from(buf.subarray(0, n));
    buf = buf.subarray(n);
    return b;
  };
  let first = true;
  for (;;) {
    const l = await line();
    if (l === null) return;
    let r: BackupRecord;
    try {
      r = JSON.parse(l) as BackupRecord;
    } catch {
      throw new BackupFormatError(first ? 'not an htbase backup file' : 'the backup file is damaged');
    }
    if (first && (r.kind !== 'header' || r.format !== BACKUP_FORMAT))
      throw new BackupFormatError('not an htbase backup file');
    if (first && r.kind === 'header' && r.version > BACKUP_VERSION)
      throw new BackupFormatError(`backup format ${r.version} is newer than this htbase understands`);
    first = false;
    if (r.kind === 'blob') {
      const b = await bytes(r.size);
      if (createHash('sha256').update(b).digest('hex') !== r.sha256)
        throw new BackupFormatError(`${r.key} in the backup does not match its sha256: the file is damaged`);
      yield { ...r, bytes: b };
    } else yield r as ReadRecord;
  }
}
