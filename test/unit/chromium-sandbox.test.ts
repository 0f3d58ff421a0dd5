// Chromium's sandbox switch and environment (issue 16): which flags a sandboxed launch drops, when `auto`
// finds the sandbox available, and that the browser's environment carries none of the worker's credentials.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromiumArgs, chromiumEnv, sandboxAvailable, type SandboxFacts } from '../../containers/browser/chromium.ts';
import { BrowserWorkerConfig, sandboxOption } from '../../containers/browser/config.ts';

test('a sandboxed launch drops --no-sandbox and --no-zygote and keeps every other flag', () => {
  const off = chromiumArgs();
  const on = chromiumArgs({ sandbox: true, proxyServer: 'http://127.0.0.1:1' });
  assert.ok(off.includes('--no-sandbox') && off.includes('--no-zygote'));
  assert.ok(!on.includes('--no-sandbox') && !on.includes('--no-zygote'));
  assert.deepEqual(
    on.filter((f) => !f.startsWith('--proxy')),
    off.filter((f) => f !== '--no-sandbox' && f !== '--no-zygote'),
  );
  assert.ok(on.includes('--force-webrtc-ip-handling-policy=disable_non_proxied_udp'));
});

test('auto: available for a non-root user with user namespaces or the setuid helper, never for root', () => {
  const base: SandboxFacts = {
    uid: 1000,
    maxUserNamespaces: 1000,
    unprivilegedUsernsClone: null,
    apparmorRestrictsUserns: null,
    setuidHelper: false,
  };
  assert.equal(sandboxAvailable(base), true);
  assert.equal(sandboxAvailable({ ...base, uid: 0 }), false);
  assert.equal(sandboxAvailable({ ...base, uid: 0, setuidHelper: true }), false);
  assert.equal(sandboxAvailable({ ...base, maxUserNamespaces: 0 }), false);
  assert.equal(sandboxAvailable({ ...base, maxUserNamespaces: null }), false);
  assert.equal(sandboxAvailable({ ...base, unprivilegedUsernsClone: 0 }), false);
  assert.equal(sandboxAvailable({ ...base, apparmorRestrictsUserns: 1 }), false);
  assert.equal(sandboxAvailable({ ...base, maxUserNamespaces: 0, setuidHelper: true }), true);
});

test('CHROMIUM_SANDBOX is off unless set; on and auto reach the pool', () => {
  assert.equal(BrowserWorkerConfig.parse({}).CHROMIUM_SANDBOX, 'off');
  assert.equal(sandboxOption('off'), false);
  assert.equal(sandboxOption('on'), true);
  assert.equal(sandboxOption('auto'), 'auto');
  assert.throws(() => BrowserWorkerConfig.parse({ CHROMIUM_SANDBOX: 'yes' }));
});

test("the browser's environment keeps what Chromium needs and none of the worker's secrets", () => {
  const env = chromiumEnv({
    PATH: '/usr/bin',
    HOME: '/home/node',
    TMPDIR: '/tmp',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    TZ: 'UTC',
    FONTCONFIG_PATH: '/etc/fonts',
    DATABASE_URL: 'postgres://worker:secret@db/htbase',
    REDIS_URL: 'redis://:secret@cache',
    GEMINI_API_KEY: 'key',
    GOOGLE_APPLICATION_CREDENTIALS: '/secrets/sa.json',
    PUBSUB_INVOKER_SA: 'sa@example',
    CHROME_PATH: '/usr/bin/chromium',
    NOT_LANG: 'x',
  });
  assert.deepEqual(Object.keys(env).sort(), ['FONTCONFIG_PATH', 'HOME', 'LANG', 'LC_ALL', 'PATH', 'TMPDIR', 'TZ']);
});
