// FAKE: stands in for Cloud Tasks, which has no emulator here: the REST API the @google-cloud/tasks client uses in
// fallback mode (createTask); records tasks, refuses a reused name (409 ALREADY_EXISTS), dispatches HTTP tasks at
// the queue's rate and concurrency with the X-CloudTasks-* headers, retrying non-2xx with backoff to maxAttempts.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface QueueLimits {
  maxDispatchesPerSecond: number;
  maxConcurrentDispatches: number;
  maxAttempts: number;
  minBackoffMs: number;
}

export interface FakeTask {
  /** Full resource name. */
  name: string;
  queue: string;
  url: string;
  httpMethod: string;
  headers: Record<string, string>;
  body: Buffer;
  oidcServiceAccount?: string;
  createdAt: number;
  attempts: number;
  state: 'queued' | 'running' | 'succeeded' | 'failed';
}

export interface Dispatch {
  task: string;
  at: number;
  attempt: number;
  status: number;
  ms: number;
}

export interface FakeCloudTasks {
  port: number;
  tasks: FakeTask[];
  dispatches: Dispatch[];
  /** createTask calls refused because the name was taken. */
  duplicates: string[];
  /** Resolves when every task has succeeded or used up its attempts. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const HTTP_METHODS: Record<string | number, string> = {
  1: 'POST',
  2: 'GET',
  3: 'HEAD',
  4: 'PUT',
  5: 'DELETE',
  6: 'PATCH',
  7: 'OPTIONS',
};

export async function startFakeCloudTasks(limits: Partial<QueueLimits> = {}): Promise<FakeCloudTasks> {
  const cfg: QueueLimits = {
    maxDispatchesPerSecond: 500,
    maxConcurrentDispatches: 1000,
    maxAttempts: 5,
    minBackoffMs: 100,
    ...limits,
  };
  const interval = 1000 / cfg.maxDispatchesPerSecond;
  const tasks: FakeTask[] = [];
  const byName = new Map<string, FakeTask>();
  const dispatches: Dispatch[] = [];
  const duplicates: string[] = [];
  const ready: FakeTask[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let running = 0;
  let nextSlot = 0;
  let pumpTimer: NodeJS.Timeout | null = null;
  let closed = false;
  const aborts = new AbortController();
  let waiters: Array<() => void> = [];

  const isIdle = () => ready.length === 0 && running === 0 && timers.size === 0;
  const checkIdle = () => {
    if (!isIdle()) return;
    const w = waiters;
    waiters = [];
    w.forEach((fn) => fn());
  };

  function pump(): void {
    if (closed || pumpTimer) return;
    while (ready.length > 0 && running < cfg.maxConcurrentDispatches) {
      const now = Date.now();
      if (now < nextSlot) {
        pumpTimer = setTimeout(() => {
          pumpTimer = null;
          pump();
        }, nextSlot - now);
        return;
      }
      nextSlot = Math.max(now, nextSlot) + interval;
      void dispatch(ready.shift()!);
    }
  }

  async function dispatch(t: FakeTask): Promise<void> {
    running++;
    t.state = 'running';
    t.attempts++;
    const at = Date.now();
    let status = 0;
    try {
      const res = await fetch(t.url, {
        method: t.httpMethod,
        headers: {
          ...t.headers,
          'X-CloudTasks-QueueName': t.queue,
          'X-CloudTasks-TaskName': t.name.split('/').pop()!,
          'X-CloudTasks-TaskRetryCount': String(t.attempts - 1),
          'X-CloudTasks-TaskExecutionCount': String(t.attempts - 1),
          'X-CloudTasks-TaskETA': String(t.createdAt / 1000),
          ...(t.oidcServiceAccount ? { Authorization: `Bearer fake-oidc-token-for-${t.oidcServiceAccount}` } : {}),
        },
        body: t.httpMethod === 'GET' || t.httpMethod === 'HEAD' ? undefined : new Uint8Array(t.body),
        signal: AbortSignal.any([aborts.signal, AbortSignal.timeout(60_000)]),
      });
      status = res.status;
      await res.arrayBuffer();
    } catch {
      status = 0;
    }
    dispatches.push({ task: t.name, at, attempt: t.attempts, status, ms: Date.now() - at });
    running--;
    if (status >= 200 && status < 300) t.state = 'succeeded';
    else if (t.attempts >= cfg.maxAttempts || closed) t.state = 'failed';
    else {
      t.state = 'queued';
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          ready.push(t);
          pump();
        },
        cfg.minBackoffMs * 2 ** (t.attempts - 1),
      );
      timers.add(timer);
    }
    pump();
    checkIdle();
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = decodeURIComponent((req.url ?? '').split('?')[0]!);
      const m = /^\/v2\/(projects\/[^/]+\/locations\/[^/]+\/queues\/[^/]+)\/tasks$/.exec(path);
      if (req.method !== 'POST' || !m) return sendError(res, 404, 'NOT_FOUND', `no route ${req.method} ${path}`);
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return sendError(res, 400, 'INVALID_ARGUMENT', 'body is not JSON');
      }
      const t = body.task ?? {};
      const http = t.httpRequest;
      if (!http?.url) return sendError(res, 400, 'INVALID_ARGUMENT', 'only HTTP tasks are supported');
      const name: string = t.name || `${m[1]}/tasks/${Math.random().toString(36).slice(2)}${Date.now()}`;
      if (!name.startsWith(`${m[1]}/tasks/`) || !/^[A-Za-z0-9_-]{1,500}$/.test(name.split('/').pop()!)) {
        return sendError(res, 400, 'INVALID_ARGUMENT', `invalid task name ${name}`);
      }
      if (byName.has(name)) {
        duplicates.push(name);
        return sendError(res, 409, 'ALREADY_EXISTS', 'Requested entity already exists');
      }
      const task: FakeTask = {
        name,
        queue: m[1]!.split('/').pop()!,
        url: http.url,
        httpMethod: HTTP_METHODS[http.httpMethod ?? 1] ?? String(http.httpMethod),
        headers: http.headers ?? {},
        body: Buffer.from(http.body ?? '', 'base64'),
        oidcServiceAccount: http.oidcToken?.serviceAccountEmail,
        createdAt: Date.now(),
        attempts: 0,
        state: 'queued',
      };
      tasks.push(task);
      byName.set(name, task);
      ready.push(task);
      sendJson(res, 200, {
        name,
        httpRequest: { url: task.url, httpMethod: http.httpMethod ?? 1, headers: task.headers },
        scheduleTime: new Date(task.createdAt).toISOString(),
        createTime: new Date(task.createdAt).toISOString(),
        dispatchCount: 0,
        responseCount: 0,
        view: 1,
      });
      pump();
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    tasks,
    dispatches,
    duplicates,
    idle: () => (isIdle() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    close: async () => {
      closed = true;
      aborts.abort();
      if (pumpTimer) clearTimeout(pumpTimer);
      timers.forEach((t) => clearTimeout(t));
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, status: number, rpcStatus: string, message: string): void {
  sendJson(res, status, { error: { code: status, message, status: rpcStatus } });
}
