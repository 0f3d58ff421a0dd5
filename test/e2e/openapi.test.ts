// The served /openapi.json against the code: it documents exactly the routes the app serves, every operation
// gives every answer it documents (each checked against the document by http()), and the check rejects
// answers the document does not allow.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../shared/db/connect.ts';
import { createApp } from '../../functions/api/app.ts';
import { PermanentError } from '../../shared/core/errors.ts';
import type { BlobStore } from '../../shared/core/ports.ts';
import { claimArtifact, markFailed, markSucceeded } from '../../shared/db/artifacts.ts';
import { http } from '../support/embedded.ts';
import { startApiHarness, type ApiHarness } from '../support/api-harness.ts';
import { contractOf, createContract, ContractError, type Contract } from '../support/openapi-contract.ts';
import { AuthError } from '../../shared/auth/jwt.ts';
import { randomBytes } from 'node:crypto';
import { createCookieStore } from '../../shared/cookies/store.ts';
import { createVault } from '../../shared/cookies/vault.ts';

/** A multipart body with one file (and optional fields), as browsers and SingleFile send it. */
function form(file: string | null, fields: Record<string, string> = {}, name = 'page.html'): FormData {
  const f = new FormData();
  if (file !== null) f.append('file', new File([file], name, { type: 'text/html' }));
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return f;
}

let harness: ApiHarness;
let contract: Contract;
let doc: any;
/** `method template status` of every answer the tests below got. */
const seen = new Set<string>();

before(async () => {
  harness = await startApiHarness();
  doc = (await http(harness.base, '/openapi.json')).body;
  contract = (await contractOf(harness.base))!;
});

after(() => harness.close());

/** http() (which checks the answer against the document), recording which documented answer it was. */
async function call(base: string, path: string, init: RequestInit & { json?: unknown } = {}) {
  const r = await http(base, path, init);
  const op = contract.operationOf(init.method ?? 'GET', path);
  assert.ok(op, `${init.method ?? 'GET'} ${path} is a documented operation`);
  seen.add(`${op} ${r.status}`);
  return r;
}

/** A new snapshot of `url` with the given formats, all pending. */
async function article(url: string, formats: string[]) {
  const r = await call(harness.base, '/archive', { method: 'POST', json: { url, formats, force: true } });
  assert.equal(r.status, 202);
  return r.body.id as string;
}

async function succeed(id: string, format: 'pdf' | 'screenshot', bytes: string) {
  await claimArtifact(harness.db.db, id, format, 60);
  const key = `articles/${id}/${format === 'pdf' ? 'page.pdf' : 'screenshot.png'}`;
  const type = format === 'pdf' ? 'application/pdf' : 'image/png';
  const stored = await harness.blobs().put(key, Buffer.from(bytes), { contentType: type, metadata: {} });
  await markSucceeded(harness.db.db, id, format, {
    storageKey: stored.key,
    contentType: type,
    sizeBytes: stored.size,
    sha256: stored.sha256,
  });
  return key;
}

test('the document is OpenAPI 3.1, compiles under strict JSON Schema 2020-12 and names what was missing', () => {
  assert.equal(doc.openapi, '3.1.0');
  assert.ok(contract.compileAll() > 20);
  const s = doc.components.schemas;
  assert.ok(s.ArtifactFormat.enum.includes('original'));
  for (const field of ['canonicalUrl', 'httpStatus', 'siteName', 'byline', 'lang', 'excerpt', 'wordCount'])
    assert.ok(field in s.Archive.properties, field);
  for (const field of ['faviconUrl', 'warnings', 'engineVersion'])
    assert.ok(field in s.Archive.properties || field in s.Artifact.properties, field);
  assert.deepEqual(doc.paths['/archives'].get.responses['200'].content['application/json'].schema, {
    $ref: '#/components/schemas/ArchiveList',
  });
});

test('the document lists exactly the routes the app serves', () => {
  const app = createApp(harness.deps());
  // Routes registered on the app itself; the web app's pages and assets sit on a router of their own.
  const served = (app.router as any).stack
    .filter((l: any) => l.route)
    .flatMap((l: any) => Object.keys(l.route.methods).map((m) => `${m} ${l.route.path.replace(/:(\w+)/g, '{$1}')}`))
    .sort();
  const documented = Object.entries(doc.paths)
    .flatMap(([path, item]: [string, any]) => Object.keys(item).map((m) => `${m} ${path}`))
    .sort();
  assert.deepEqual(served, documented);
});

test('the check rejects answers the document does not allow', async () => {
  const id = await article('https://contract.test/wrong', ['pdf']);
  const real = await http(harness.base, `/archives/${id}`);
  const c = createContract(doc);
  const answer = (body: unknown, status = 200, headers = real.headers) => ({
    method: 'GET',
    path: `/archives/${id}`,
    status,
    headers,
    body,
  });
  assert.deepEqual(c.check(answer(real.body)), [], 'the real answer conforms');
  const { version: _v, ...noVersion } = real.body;
  assert.match(c.check(answer(noVersion))!.join('\n'), /must have required property 'version'/);
  const badFormat = { ...real.body, artifacts: [{ ...real.body.artifacts[0], format: 'gif' }] };
  assert.match(c.check(answer(badFormat))!.join('\n'), /body\/artifacts\/0\/format must be equal to one of/);
  assert.match(c.check(answer({ ...real.body, surprise: 1 }))!.join('\n'), /additional properties/);
  assert.match(c.check(answer({ ...real.body, version: '3' }))!.join('\n'), /body\/version must be integer/);
  assert.match(c.check(answer(real.body, 418))!.join('\n'), /status not documented/);
  const text = new Headers({ 'content-type': 'text/plain', etag: '"v1"' });
  assert.match(c.check(answer(real.body, 200, text))!.join('\n'), /content type text\/plain not in/);
  const noEtag = new Headers({ 'content-type': 'application/json' });
  assert.match(c.check(answer(real.body, 200, noEtag))!.join('\n'), /required header ETag missing/);
  const problemHeaders = new Headers({ 'content-type': 'application/problem+json' });
  const notUrn = { type: 'about:blank', title: 'Not found', status: 404, detail: 'no such archive' };
  assert.match(c.check(answer(notUrn, 404, problemHeaders))!.join('\n'), /body\/type must match pattern/);
  assert.throws(() => c.assert(answer(noVersion)), ContractError);
  assert.equal(c.check({ ...answer(real.body), path: '/not-an-api-path' }), null, 'undocumented paths are not ours');
});

test('every operation gives every answer it documents, each one matching the document', async () => {
  const { base, db } = harness;
  const missing = '6b0f3a5e-8a4c-4c0e-9a55-3f1f1b2c3d4e';
  const noText = await article('https://contract.test/no-text', ['pdf']);
  const summaries = {
    async request(articleId: string, opts: { force: boolean }) {
      if (articleId === noText) throw new PermanentError('readable_missing', 'no readable text');
      return opts.force ? ('dispatched' as const) : ('unchanged' as const);
    },
  };
  const main = await harness.serve({ summaries });
  // Submit, list, view, delete.
  const id = await article('https://contract.test/a', ['pdf', 'screenshot']);
  await call(base, '/archive', { method: 'POST', json: { url: 'https://contract.test/a', formats: ['pdf'] } });
  await call(base, '/archive', { method: 'POST', json: { url: 'ftp://contract.test/' } });
  await call(base, '/archive', {
    method: 'POST',
    json: { url: 'https://contract.test/i1' },
    headers: { 'Idempotency-Key': 'k' },
  });
  await call(base, '/archive', {
    method: 'POST',
    json: { url: 'https://contract.test/i2' },
    headers: { 'Idempotency-Key': 'k' },
  });
  await call(base, '/archives?limit=1');
  await call(base, '/archives?limit=0');
  await call(base, `/archives/${id}`);
  await call(base, `/archives/${missing}`);
  await call(base, `/archives/${missing}`, { method: 'DELETE' });
  // Tags and note.
  await call(base, `/archives/${id}`, { method: 'PATCH', json: { tags: ['contract'], note: 'n' } });
  await call(base, `/archives/${id}`, { method: 'PATCH', json: {} });
  await call(base, `/archives/${missing}`, { method: 'PATCH', json: { note: 'x' } });
  // Artifacts: pending, stored, unknown, missing, bytes gone, signed.
  await call(base, `/archives/${id}/artifacts/pdf`);
  const key = await succeed(id, 'screenshot', 'png-bytes');
  await call(base, `/archives/${id}/artifacts/screenshot`);
  await call(base, `/archives/${id}/artifacts/gif`);
  await call(base, `/archives/${id}/artifacts/monolith`);
  const signedStore = harness.blobs();
  const signing: BlobStore = {
    put: (k, b, o) => signedStore.put(k, b, o),
    get: (k) => signedStore.get(k),
    stat: (k) => signedStore.stat(k),
    deletePrefix: (p) => signedStore.deletePrefix(p),
    signedUrl: async (k) => `https://storage.test/${k}?signature=x`,
  };
  const signed = await call(await harness.serve({ blobs: signing }), `/archives/${id}/artifacts/screenshot`, {
    redirect: 'manual',
  });
  assert.equal(signed.headers.get('location'), `https://storage.test/${key}?signature=x`);
  await harness.blobs().deletePrefix(`articles/${id}/`);
  await call(base, `/archives/${id}/artifacts/screenshot`);
  // Retry.
  await call(base, `/archives/${id}/retry`, { method: 'POST' });
  await claimArtifact(db.db, id, 'pdf', 60);
  await markFailed(db.db, id, 'pdf', 'timeout', 'capture exceeded 1 ms');
  await call(base, `/archives/${id}/retry`, { method: 'POST', json: { formats: ['gif'] } });
  await call(base, `/archives/${id}/retry`, { method: 'POST', json: { formats: ['pdf'] } });
  await call(base, `/archives/${missing}/retry`, { method: 'POST' });
  // Summary: not configured (the default app), dispatched, unchanged, bad body, unknown, no text.
  await call(base, `/archives/${id}/summary`, { method: 'POST' });
  await call(main, `/archives/${id}/summary`, { method: 'POST', json: { force: true } });
  await call(main, `/archives/${id}/summary`, { method: 'POST' });
  await call(main, `/archives/${id}/summary`, { method: 'POST', json: { extra: 1 } });
  await call(main, `/archives/${missing}/summary`, { method: 'POST' });
  await call(main, `/archives/${noText}/summary`, { method: 'POST' });
  // Share links: create, open, each kind of file answer, revoke; then the link is dead.
  const shared = await article('https://contract.test/shared', ['pdf', 'screenshot']);
  const link = (await call(base, `/archives/${shared}/share`, { method: 'POST' })).body as { token: string };
  await call(base, `/archives/${missing}/share`, { method: 'POST' });
  await call(base, `/shared/${link.token}`);
  await call(base, `/shared/${link.token}/artifacts/pdf`);
  await succeed(shared, 'screenshot', 'shared-png');
  await call(base, `/shared/${link.token}/artifacts/screenshot`);
  await call(await harness.serve({ blobs: signing }), `/shared/${link.token}/artifacts/screenshot`, {
    redirect: 'manual',
  });
  await call(base, `/shared/${link.token}/artifacts/gif`);
  await call(base, `/shared/${link.token}/artifacts/monolith`);
  await harness.blobs().deletePrefix(`articles/${shared}/`);
  await call(base, `/shared/${link.token}/artifacts/screenshot`);
  // A second link stays live: the throttled server below answers it 429.
  const live = (await call(base, `/archives/${shared}/share`, { method: 'POST' })).body as { token: string };
  await call(base, `/archives/${shared}/share/${link.token}`, { method: 'DELETE' });
  await call(base, `/archives/${shared}/share/${link.token}`, { method: 'DELETE' });
  await call(base, `/shared/${link.token}`);
  // Upload (SingleFile) and cookies (logged-in capture).
  const page = '<!doctype html><title>Saved</title><p>saved page</p>';
  await call(base, '/archives/upload', { method: 'POST', body: form(page, { url: 'https://contract.test/up' }) });
  await call(base, '/archives/upload', { method: 'POST', body: form(page) });
  await call(base, '/archives/upload', { method: 'POST', json: { url: 'https://contract.test/up' } });
  const small = await harness.serve({ config: { UPLOAD_MAX_BYTES: 1024 } });
  await call(small, '/archives/upload', {
    method: 'POST',
    body: form('x'.repeat(4096), { url: 'https://contract.test/' }),
  });
  const cookies = await harness.serve({
    cookies: createCookieStore(db.db, async () => createVault(randomBytes(32))),
  });
  await call(base, '/cookies', { method: 'POST', body: form('example.com\tFALSE\t/\tFALSE\t0\ta\tb\n') });
  await call(cookies, '/cookies', { method: 'POST', body: form('example.com\tFALSE\t/\tFALSE\t0\ta\tb\n') });
  await call(cookies, '/cookies', { method: 'POST', body: form('not a cookie file') });
  await call(cookies, '/cookies', { method: 'POST', json: {} });
  await call(cookies, '/cookies', { method: 'POST', body: form('#'.repeat(1024 * 1024 + 10)) });
  await call(cookies, '/cookies');
  await call(base, '/cookies');
  await call(base, '/cookies/example.com', { method: 'DELETE' });
  await call(cookies, '/cookies/example.com', { method: 'DELETE' });
  await call(cookies, '/cookies/example.com', { method: 'DELETE' });
  await call(base, '/healthz');
  await call(base, '/readyz');
  await call(base, '/openapi.json');
  await call(base, `/archives/${id}`, { method: 'DELETE' });
  // Imports and export: stored, bad field, too large, unknown format, corrupt; progress; each export answer.
  const upload = (text: string, fields: Record<string, string> = {}) => {
    const f = new FormData();
    for (const [k, v] of Object.entries(fields)) f.set(k, v);
    f.set('file', new Blob([text]), 'bookmarks.txt');
    return { method: 'POST', body: f };
  };
  const imported = await call(base, '/imports', upload('https://contract.test/imported\nftp://contract.test/\n'));
  await call(base, '/imports', upload('https://contract.test/', { format: 'nope' }));
  const smallImports = await harness.serve({ config: { IMPORT_MAX_BYTES: 1024 } });
  await call(smallImports, '/imports', upload(`https://contract.test/\n${'#'.repeat(4096)}`));
  await call(base, '/imports', upload('plain prose, no bookmarks'));
  await call(base, '/imports', upload('{"bookmarks": ['));
  await call(base, `/imports/${imported.body.id}`);
  await call(base, `/imports/${missing}`);
  await call(base, '/export?format=zip');
  await call(base, '/export?format=pdf');

  // Admission and internal errors, on every operation: no credentials, no budget, a database that is gone.
  const gone = await openDatabase({ memory: true });
  await gone.close();
  const locked = await harness.serve({
    authenticate: async () => {
      throw new AuthError(401, 'missing_token', 'a credential is required');
    },
  });
  const throttled = await harness.serve({
    rateLimiter: { hit: async () => ({ allowed: false, retryAfterSeconds: 7 }) },
    config: { RATE_LIMIT_PER_MINUTE: 1, READ_RATE_LIMIT_PER_MINUTE: 1 },
  });
  const broken = await harness.serve({
    db: gone.db,
    cookies: createCookieStore(gone.db, async () => createVault(randomBytes(32))),
  });
  const refused = await harness.serve({
    authenticate: async () => {
      throw new AuthError(403, 'not_allowed', 'this account has no user on this HT Base');
    },
  });
  const requests: Array<[string, RequestInit & { json?: unknown }]> = [
    ['/archive', { method: 'POST', json: { url: 'https://contract.test/b' } }],
    ['/archives', {}],
    [`/archives/${noText}`, {}],
    [`/archives/${noText}`, { method: 'DELETE' }],
    [`/archives/${noText}`, { method: 'PATCH', json: { note: 'x' } }],
    [`/archives/${noText}/artifacts/pdf`, {}],
    [`/archives/${noText}/retry`, { method: 'POST' }],
    [`/archives/${noText}/summary`, { method: 'POST' }],
    [`/archives/${noText}/share`, { method: 'POST' }],
    [`/archives/${noText}/share/sl_000000000000`, { method: 'DELETE' }],
    ['/archives/upload', { method: 'POST', body: form('<p>x</p>', { url: 'https://contract.test/u' }) }],
    ['/cookies', {}],
    ['/cookies', { method: 'POST', body: form('example.com\tFALSE\t/\tFALSE\t0\ta\tb\n') }],
    ['/cookies/example.com', { method: 'DELETE' }],
    ['/imports', upload('https://contract.test/c\n')],
    [`/imports/${missing}`, {}],
    ['/export', {}],
  ];
  for (const [path, init] of requests) {
    assert.equal((await call(locked, path, init)).status, 401);
    assert.equal((await call(refused, path, init)).status, 403);
    assert.equal((await call(throttled, path, init)).status, 429);
    assert.equal((await call(broken, path, init)).status, 500);
  }
  // Liveness stays up while the database is gone (nothing to restart); readiness reports it.
  assert.equal((await call(broken, '/healthz')).status, 200);
  assert.equal((await call(broken, '/readyz')).status, 500);
  assert.equal((await call(throttled, `/shared/${live.token}`)).status, 429);
  assert.equal((await call(throttled, `/shared/${live.token}/artifacts/pdf`)).status, 429);
  assert.equal((await call(broken, `/shared/${link.token}`)).status, 500);
  assert.equal((await call(broken, `/shared/${link.token}/artifacts/pdf`)).status, 500);

  const documented = Object.entries(doc.paths).flatMap(([path, item]: [string, any]) =>
    Object.entries(item).flatMap(([method, op]: [string, any]) =>
      Object.keys(op.responses).map((status) => `${method} ${path} ${status}`),
    ),
  );
  // The document is a constant built at start-up: serving it has no failure to reach.
  // So is liveness: it touches neither the database nor anything else that can fail.
  const unreachable = ['get /openapi.json 500', 'get /healthz 500'];
  assert.deepEqual(
    documented.filter((d) => !seen.has(d) && !unreachable.includes(d)),
    [],
    'documented answers no test produced',
  );
  assert.deepEqual(
    [...seen].filter((s) => !documented.includes(s)),
    [],
    'answers the document does not list',
  );
});
