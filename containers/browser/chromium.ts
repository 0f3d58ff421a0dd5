// Which Chromium binary to run and with which flags: the one place that decides both.
// The executable is CHROME_PATH when the caller passes one, else @sparticuz/chromium's bundled binary,
// unpacked into the temp dir by one process at a time.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { open, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import chromium from '@sparticuz/chromium';

/**
 * Every flag the browser is launched with (puppeteer's own defaults are switched off so this list is the
 * whole truth). Not taken from @sparticuz/chromium's `args`: those add `--single-process`, which runs every
 * renderer inside the browser process, so one page's renderer crash would kill the browser and every job in
 * it. Without it a crashed renderer fails only its own page and the pool keeps the browser (and relaunches
 * it if the browser process itself dies). They also add `--disable-web-security`, which archiving must not.
 */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless', // chrome-headless-shell (sparticuz) and new-headless Chrome (Debian) both accept this
  // Without the sandbox (root, or no user namespaces nor setuid helper) the container is the only boundary;
  // chromiumArgs drops both when `sandbox` is on (CHROMIUM_SANDBOX, issue 16).
  '--no-sandbox',
  '--no-zygote', // with --no-sandbox the zygote buys nothing and adds a process
  '--disable-dev-shm-usage', // /dev/shm is 64 MB in containers: use /tmp for shared memory
  '--disable-gpu', // no GPU in Cloud Run; software compositing
  '--hide-scrollbars', // screenshots without scrollbars
  '--mute-audio',
  '--no-first-run',
  '--no-default-browser-check',
  '--no-pings', // no hyperlink-auditing beacons out of archived pages
  '--disable-sync',
  '--disable-background-networking', // no update, safe-browsing or metrics traffic besides the page's own
  '--disable-component-update',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--disable-breakpad',
  '--disable-crash-reporter',
  '--disable-default-apps',
  '--disable-extensions',
  '--disable-component-extensions-with-background-pages',
  '--disable-background-timer-throttling', // background tabs must not stall their timers mid-capture
  '--disable-backgrounding-occluded-windows',
  '--disable-renderer-backgrounding',
  '--disable-hang-monitor',
  '--disable-ipc-flooding-protection',
  '--disable-popup-blocking', // popups open as targets we ignore and close with the context
  '--disable-prompt-on-repost',
  '--disable-quic', // QUIC is UDP and would bypass the HTTP(S) egress proxy
  // WebRTC (STUN, TURN, peer connections) is UDP too: only through the proxy, which means never (issue 16).
  '--force-webrtc-ip-handling-policy=disable_non_proxied_udp',
  '--webrtc-ip-handling-policy=disable_non_proxied_udp',
  '--disable-search-engine-choice-screen',
  '--deny-permission-prompts',
  '--password-store=basic',
  '--use-mock-keychain',
  '--force-color-profile=srgb', // stable colours across machines for screenshots
  '--font-render-hinting=none', // same glyph metrics in screenshot and PDF
  '--disk-cache-size=33554432',
  '--enable-automation',
  '--allow-pre-commit-input',
  '--export-tagged-pdf',
  // LazyFrameLoading: lazy iframes must load for the archive; PaintHolding: screenshots right after load;
  // Translate/MediaRouter/OptimizationHints: background traffic; IsolateSandboxedIframes: puppeteer#10715.
  '--disable-features=Translate,AcceptCHFrame,MediaRouter,OptimizationHints,LazyFrameLoading,PaintHolding,HttpsUpgrades,IsolateSandboxedIframes,ProcessPerSiteUpToMainFrameThreshold,DialMediaRouteProvider,GlobalMediaControls',
  '--window-size=1280,800',
];

export interface ChromiumLaunchSpec {
  executablePath: string;
  args: string[];
  /** Whether `args` run Chromium sandboxed. */
  sandbox: boolean;
}

export interface ChromiumOptions {
  /** An explicit Chromium/Chrome binary (CHROME_PATH); the bundled @sparticuz/chromium otherwise. */
  executablePath?: string;
  /**
   * Send every request through this proxy (e.g. the SSRF egress proxy, `http://127.0.0.1:PORT`).
   * `<-loopback>` removes Chromium's implicit loopback bypass, so loopback targets go through it too.
   */
  proxyServer?: string;
  /** Additional flags (tests, experiments); appended after CHROMIUM_FLAGS. */
  extraArgs?: string[];
  /**
   * Run Chromium with its own sandbox (no --no-sandbox/--no-zygote): true, false (the default), or 'auto'
   * (CHROMIUM_SANDBOX=auto): on when sandboxAvailable says this process can, and off again if it fails to start.
   */
  sandbox?: boolean | 'auto';
}

/** Flags that only make sense without Chromium's sandbox. */
const NO_SANDBOX_FLAGS: ReadonlySet<string> = new Set(['--no-sandbox', '--no-zygote']);

/** Resolves the binary (unpacking the bundled one on first use, about 3 s) and the full argument list. */
export async function resolveChromium(opts: ChromiumOptions = {}): Promise<ChromiumLaunchSpec> {
  const executablePath = opts.executablePath ?? (await bundledChromiumPath());
  const sandbox = opts.sandbox === 'auto' ? sandboxAvailable(probeSandbox(executablePath)) : !!opts.sandbox;
  return { executablePath, args: chromiumArgs({ ...opts, sandbox }), sandbox };
}

export function chromiumArgs(
  opts: Pick<ChromiumOptions, 'proxyServer' | 'extraArgs'> & { sandbox?: boolean } = {},
): string[] {
  const args = opts.sandbox ? CHROMIUM_FLAGS.filter((f) => !NO_SANDBOX_FLAGS.has(f)) : [...CHROMIUM_FLAGS];
  if (opts.proxyServer) args.push(`--proxy-server=${opts.proxyServer}`, '--proxy-bypass-list=<-loopback>');
  if (opts.extraArgs) args.push(...opts.extraArgs);
  return args;
}

/** What decides whether Chromium's sandbox can run here; read from the system by probeSandbox. */
export interface SandboxFacts {
  uid: number;
  /** /proc/sys/user/max_user_namespaces (null: unreadable). */
  maxUserNamespaces: number | null;
  /** /proc/sys/kernel/unprivileged_userns_clone (Debian kernels; null: absent, i.e. allowed). */
  unprivilegedUsernsClone: number | null;
  /** /proc/sys/kernel/apparmor_restrict_unprivileged_userns (Ubuntu 24.04; null: absent). */
  apparmorRestrictsUserns: number | null;
  /** A setuid-root chrome-sandbox helper next to the binary (Debian's chromium-sandbox package). */
  setuidHelper: boolean;
}

/**
 * Chromium refuses its sandbox as root; as another user it needs unprivileged user namespaces or the
 * setuid helper. Pure: CHROMIUM_SANDBOX=auto turns it on exactly when this says it can start.
 */
export function sandboxAvailable(f: SandboxFacts): boolean {
  if (f.uid === 0) return false;
  if (f.setuidHelper) return true;
  return (f.maxUserNamespaces ?? 0) > 0 && f.unprivilegedUsernsClone !== 0 && f.apparmorRestrictsUserns !== 1;
}

/** The facts of this process and machine for sandboxAvailable. */
export function probeSandbox(executablePath?: string): SandboxFacts {
  const num = (path: string): number | null => {
    try {
      const n = Number.parseInt(readFileSync(path, 'utf8'), 10);
      return Number.isFinite(n) ? n : null;
    } catch {
      return null; // the knob does not exist on this kernel
    }
  };
  let setuidHelper = false;
  if (executablePath) {
    for (const helper of [join(dirname(executablePath), 'chrome-sandbox'), '/usr/lib/chromium/chrome-sandbox']) {
      try {
        const st = statSync(helper);
        if (st.uid === 0 && (st.mode & 0o4000) !== 0) setuidHelper = true;
      } catch {
        // no helper there
      }
    }
  }
  return {
    uid: process.getuid?.() ?? 0,
    maxUserNamespaces: num('/proc/sys/user/max_user_namespaces'),
    unprivilegedUsernsClone: num('/proc/sys/kernel/unprivileged_userns_clone'),
    apparmorRestrictsUserns: num('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
    setuidHelper,
  };
}

/** Variables Chromium gets; the rest of the worker's environment (DATABASE_URL, keys, tokens) stays behind. */
const CHROMIUM_ENV =
  /^(PATH|HOME|TMPDIR|TMP|TEMP|LANG|LANGUAGE|LC_[A-Z]+|TZ|FONTCONFIG_[A-Z_]+|XDG_[A-Z_]+|LD_LIBRARY_PATH|CHROME_DEVEL_SANDBOX)$/;

/** The browser's environment: only what it needs to run, never the worker's credentials (issue 16). */
export function chromiumEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string' && CHROMIUM_ENV.test(e[0])),
  );
}

/** How long a process waits for another one's unpack (about 3 s, longer on a loaded machine) before giving up. */
const UNPACK_WAIT_MS = 120_000;
/** A lock older than this is stale whatever its pid says (the pid may have been reused). */
const STALE_LOCK_MS = 5 * 60_000;

let unpacking: Promise<string> | null = null;

/**
 * The bundled binary, unpacked into the temp dir on first use. @sparticuz/chromium takes any existing
 * `$TMPDIR/chromium` as unpacked, so a process starting while another was still writing that file spawned a
 * half-written binary (`spawn ETXTBSY`, issue 15). The unpack is serialized across processes by an exclusive
 * lock file next to it, and a marker written once it is complete lets later processes skip the lock.
 */
export function bundledChromiumPath(): Promise<string> {
  // Concurrent callers in one process share the attempt; a later call checks again (tmp may have been cleaned).
  unpacking ??= unpackOnce().finally(() => {
    unpacking = null;
  });
  return unpacking;
}

async function unpackOnce(): Promise<string> {
  const dir = tmpdir(); // where @sparticuz/chromium unpacks (it reads TMPDIR the same way)
  const binary = join(dir, 'chromium');
  const marker = join(dir, '.htbase-chromium-unpacked');
  if (existsSync(marker) && existsSync(binary)) return chromium.executablePath();
  const release = await acquireLock(join(dir, '.htbase-chromium-unpack.lock'));
  try {
    let path: string;
    try {
      path = await chromium.executablePath(); // unpacks, or finds what the previous lock holder unpacked
    } catch (err) {
      // A half-written binary would be taken as unpacked by the next process: remove it (we hold the lock).
      await rm(binary, { force: true });
      throw err;
    }
    await writeFile(marker, `${path}\n`);
    return path;
  } finally {
    await release();
  }
}

/** Creates `path` exclusively ('wx'), waiting while a live process holds it; returns the release function. */
async function acquireLock(path: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + UNPACK_WAIT_MS;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      return () =>
        unlink(path).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await removeIfStale(path)) continue;
    if (Date.now() > deadline) {
      throw new Error(`another process has held ${path} for over ${UNPACK_WAIT_MS} ms while unpacking Chromium`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Removes a lock whose holder is gone (its pid no longer runs) or that is older than any unpack; true when the
 * lock is gone and worth trying again. A lock just created may not have its pid written yet: it is not stale.
 */
async function removeIfStale(path: string): Promise<boolean> {
  let content: string;
  let age: number;
  try {
    [content, age] = await Promise.all([readFile(path, 'utf8'), stat(path).then((st) => Date.now() - st.mtimeMs)]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true; // released meanwhile
    throw err;
  }
  const pid = Number.parseInt(content, 10);
  const holderGone = pid > 0 ? !processAlive(pid) : age > 10_000;
  if (!holderGone && age <= STALE_LOCK_MS) return false;
  // Unlink only the lock we judged: if another process already replaced it, that one is live.
  if ((await readFile(path, 'utf8').catch(() => null)) !== content) return true;
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  return true;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
}
