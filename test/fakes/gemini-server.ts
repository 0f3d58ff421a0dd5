// FAKE: stands in for the Gemini API (generativelanguage.googleapis.com, API-key path) and Vertex AI
// (aiplatform.googleapis.com, publisher-model path) `generateContent`, for the real @google/genai client.
// Records every request; answers from a script (429, 500, malformed text, SAFETY block) or a default.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  mode: 'api-key' | 'vertex';
  path: string;
  model: string;
  project?: string;
  location?: string;
  headers: IncomingMessage['headers'];
  body: any;
  /** The user turn's text (the prompt). */
  prompt: string;
  receivedAt: number;
}

export type ScriptedReply =
  | { kind: 'error'; status: number; message?: string }
  | { kind: 'text'; text: string; finishReason?: string }
  | { kind: 'answer'; answer: unknown }
  | { kind: 'safety'; where: 'prompt' | 'candidate' }
  | { kind: 'raw'; status: number; body: string; contentType?: string }
  | { kind: 'hang' };

export interface FakeGemini {
  /** Base URL for `httpOptions.baseUrl`. */
  url: string;
  requests: RecordedRequest[];
  /** Replies used in order, one per request, before falling back to the default answer. */
  script(...replies: ScriptedReply[]): void;
  /** Replaces the default answer (built from the prompt). */
  setDefault(fn: (req: RecordedRequest) => ScriptedReply): void;
  /** Delays every reply by this many ms (a model takes time; lets tests see concurrency). */
  setLatency(ms: number): void;
  close(): Promise<void>;
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** The default answer: a valid structured summary quoting the start of the article text it was sent. */
export function defaultAnswer(req: RecordedRequest): ScriptedReply {
  const article = /<article>\n([\s\S]*?)\n<\/article>/.exec(req.prompt)?.[1] ?? req.prompt;
  const first = article.split(/(?<=[.!?])\s+/)[0]!.slice(0, 200);
  return {
    kind: 'answer',
    answer: { summary: `Summary: ${first}`, keyPoints: [first], tags: ['fake', 'Summary'], language: 'en' },
  };
}

export async function startFakeGemini(): Promise<FakeGemini> {
  const requests: RecordedRequest[] = [];
  const queue: ScriptedReply[] = [];
  let fallback: (req: RecordedRequest) => ScriptedReply = defaultAnswer;
  let latencyMs = 0;
  const timers = new Set<NodeJS.Timeout>();
  const hanging = new Set<ServerResponse>();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      const apiKey = /^\/v1beta\/models\/([^/:]+):generateContent$/.exec(path);
      const vertex =
        /^\/v1beta1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/models\/([^/:]+):generateContent$/.exec(
          path,
        );
      if (req.method !== 'POST' || (!apiKey && !vertex)) return sendError(res, 404, `no route ${req.method} ${path}`);
      // The real services refuse a request without credentials; so does the fake, to check they are sent.
      if (apiKey && !req.headers['x-goog-api-key']) return sendError(res, 401, 'API key not valid');
      if (vertex && !/^Bearer \S+/.test(String(req.headers.authorization ?? '')))
        return sendError(res, 401, 'missing bearer token');
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return sendError(res, 400, 'body is not JSON');
      }
      const prompt = (body.contents ?? [])
        .flatMap((c: any) => c.parts ?? [])
        .map((p: any) => p.text ?? '')
        .join('\n');
      const rec: RecordedRequest = {
        mode: apiKey ? 'api-key' : 'vertex',
        path,
        model: apiKey ? apiKey[1]! : vertex![3]!,
        ...(vertex ? { project: vertex[1], location: vertex[2] } : {}),
        headers: req.headers,
        body,
        prompt,
        receivedAt: Date.now(),
      };
      requests.push(rec);
      const r = queue.shift() ?? fallback(rec);
      if (latencyMs <= 0) return reply(res, r, prompt);
      const t = setTimeout(() => {
        timers.delete(t);
        reply(res, r, prompt);
      }, latencyMs);
      timers.add(t);
    });
  });

  function reply(res: ServerResponse, r: ScriptedReply, prompt: string): void {
    const usage = (out: string) => ({
      promptTokenCount: Math.ceil(prompt.length / 4),
      candidatesTokenCount: Math.ceil(out.length / 4),
      totalTokenCount: Math.ceil(prompt.length / 4) + Math.ceil(out.length / 4),
    });
    switch (r.kind) {
      case 'error':
        return sendError(res, r.status, r.message ?? 'scripted error');
      case 'raw':
        res.writeHead(r.status, { 'content-type': r.contentType ?? 'application/json' });
        return void res.end(r.body);
      case 'hang':
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      case 'safety':
        if (r.where === 'prompt') {
          return sendJson(res, 200, { promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: usage('') });
        }
        return sendJson(res, 200, {
          candidates: [
            {
              content: { role: 'model', parts: [] },
              finishReason: 'SAFETY',
              index: 0,
              safetyRatings: [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true }],
            },
          ],
          usageMetadata: usage(''),
        });
      case 'text':
      case 'answer': {
        const text = r.kind === 'text' ? r.text : JSON.stringify(r.answer);
        return sendJson(res, 200, {
          candidates: [
            {
              content: { role: 'model', parts: [{ text }] },
              finishReason: r.kind === 'text' ? (r.finishReason ?? 'STOP') : 'STOP',
              index: 0,
            },
          ],
          usageMetadata: usage(text),
          modelVersion: 'fake',
        });
      }
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (...replies) => void queue.push(...replies),
    setDefault: (fn) => void (fallback = fn),
    setLatency: (ms) => void (latencyMs = ms),
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { error: { code: status, message, status: STATUS_NAMES[status] ?? 'UNKNOWN' } });
}
