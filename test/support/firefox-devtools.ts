// A minimal client of Firefox's remote debugging protocol (the one about:debugging and web-ext speak), for the
// extension test: WebDriver BiDi does not reach moz-extension:// pages (Firefox bug 1755014), this protocol does.
// It watches an add-on's documents (background page, popup tabs) and evaluates JavaScript in them.
import net from 'node:net';
import { withTimeout } from '../../shared/core/timeout.ts';

/** Firefox prefs that let `--start-debugger-server PORT` accept a local client without a prompt. */
export const DEVTOOLS_PREFS = {
  'devtools.debugger.remote-enabled': true,
  'devtools.chrome.enabled': true,
  'devtools.debugger.prompt-connection': false,
};

type Packet = Record<string, any>;

/** One document of the extension, as the protocol's frame target describes it. */
export interface ExtensionFrame {
  url: string;
  /** Evaluates `js` in the document (top-level await allowed); resolves with a primitive result. */
  evaluate<T = unknown>(js: string): Promise<T>;
}

const STEP_MS = 30_000;

export class FirefoxDevtools {
  private buf = Buffer.alloc(0);
  private packets: Packet[] = [];
  private waiters = new Set<() => void>();
  private frames: { url: string; consoleActor: string; actor: string }[] = [];

  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (d) => this.read(d));
  }

  /** Connects to the debugger server Firefox opened on `port` (retrying while it starts) and reads its greeting. */
  static async connect(port: number): Promise<FirefoxDevtools> {
    const deadline = Date.now() + STEP_MS;
    for (;;) {
      try {
        const sock = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(port, '127.0.0.1', () => resolve(s));
          s.once('error', reject);
        });
        const client = new FirefoxDevtools(sock);
        await client.next((p) => p.from === 'root' && 'applicationType' in p, 'the debugger server greeting');
        return client;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  /** Starts watching the documents of the add-on `addonId`; `frame()` then finds them. */
  async watchAddon(addonId: string): Promise<void> {
    const { addons } = await this.request({ to: 'root', type: 'listAddons' }, (p) => 'addons' in p);
    const addon = (addons as Packet[]).find((a) => a.id === addonId);
    if (!addon) throw new Error(`add-on ${addonId} is not installed`);
    const watcher = await this.request(
      { to: addon.actor, type: 'getWatcher', isServerTargetSwitchingEnabled: true },
      (p) => p.from === addon.actor && 'actor' in p,
    );
    await this.request(
      { to: watcher.actor, type: 'watchTargets', targetType: 'frame' },
      (p) => p.from === watcher.actor,
    );
  }

  /** The newest extension document whose URL matches, waiting up to `timeout` ms for one to appear. */
  async frame(match: RegExp, timeout = STEP_MS): Promise<ExtensionFrame> {
    const found = () => [...this.frames].reverse().find((f) => match.test(f.url));
    await this.waitFor(() => Boolean(found()), timeout, `an extension document matching ${match}`);
    const f = found()!;
    return { url: f.url, evaluate: (js) => this.evaluate(f.consoleActor, js) };
  }

  close(): void {
    this.sock.destroy();
  }

  private async evaluate<T>(consoleActor: string, text: string): Promise<T> {
    const { resultID } = await this.request(
      { to: consoleActor, type: 'evaluateJSAsync', text, mapped: { await: true } },
      (p) => p.from === consoleActor && 'resultID' in p && !p.type,
    );
    const r = await this.next((p) => p.type === 'evaluationResult' && p.resultID === resultID, 'an evaluation result');
    if (r.hasException || r.exceptionMessage) throw new Error(`in the extension: ${r.exceptionMessage ?? 'exception'}`);
    return grip(r.result) as T;
  }

  private read(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    // Each packet is `<byte length>:<JSON>`.
    for (;;) {
      const colon = this.buf.indexOf(':');
      if (colon < 0) break;
      const len = Number(this.buf.subarray(0, colon).toString());
      if (this.buf.length < colon + 1 + len) break;
      const p = JSON.parse(this.buf.subarray(colon + 1, colon + 1 + len).toString('utf8')) as Packet;
      this.buf = this.buf.subarray(colon + 1 + len);
      if (p.type === 'target-available-form') {
        const t = p.target as Packet;
        this.frames.push({ url: t.url, consoleActor: t.consoleActor, actor: t.actor });
      } else if (p.type === 'target-destroyed-form') {
        this.frames = this.frames.filter((f) => f.actor !== (p.target as Packet).actor);
      } else this.packets.push(p);
    }
    for (const w of [...this.waiters]) w();
  }

  private request(packet: Packet, reply: (p: Packet) => boolean): Promise<Packet> {
    const s = JSON.stringify(packet);
    this.sock.write(`${Buffer.byteLength(s)}:${s}`);
    return this.next((p) => p.from === packet.to && ('error' in p || reply(p)), `the answer to ${packet.type}`).then(
      (p) => {
        if ('error' in p) throw new Error(`${packet.type}: ${p.error} ${p.message ?? ''}`);
        return p;
      },
    );
  }

  private async next(match: (p: Packet) => boolean, what: string): Promise<Packet> {
    let hit: Packet | undefined;
    await this.waitFor(
      () => {
        const i = this.packets.findIndex(match);
        if (i >= 0) hit = this.packets.splice(i, 1)[0];
        return hit !== undefined;
      },
      STEP_MS,
      what,
    );
    return hit!;
  }

  private waitFor(done: () => boolean, ms: number, what: string): Promise<void> {
    if (done()) return Promise.resolve();
    let check!: () => void;
    const p = new Promise<void>((resolve) => {
      check = () => {
        if (done()) resolve();
      };
      this.waiters.add(check);
    });
    return withTimeout(p, ms, `Firefox devtools: no ${what} within ${ms} ms`).finally(() => this.waiters.delete(check));
  }
}

/** A protocol value ("grip") as a JS value: primitives only, since the test returns strings, numbers and booleans. */
function grip(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  const g = v as Packet;
  if (g.type === 'undefined') return undefined;
  if (g.type === 'null') return null;
  if (g.type === 'longString') throw new Error('in the extension: a result too long for this client');
  throw new Error(`in the extension: a ${g.class ?? g.type} result; return JSON.stringify(...) instead`);
}
