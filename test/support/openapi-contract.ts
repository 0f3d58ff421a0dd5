// Checks a real HTTP answer against a served OpenAPI 3.1 document: the status is documented for the operation,
// the content type is one it lists, a JSON body matches its schema (ajv, JSON Schema 2020-12) and the required
// headers are there. test/support/embedded.ts runs it on every answer its http() helper gets.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

export interface Answer {
  method: string;
  /** The request path, query string included or not. */
  path: string;
  status: number;
  headers: Headers;
  /** Parsed JSON for a JSON content type, the raw bytes otherwise. */
  body: unknown;
}

/** An answer the document does not allow; thrown by assertAnswer and recognised by waitFor (never retried). */
export class ContractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContractError';
  }
}

type Doc = { paths: Record<string, Record<string, Operation>> };
type Operation = { responses: Record<string, Response> };
type Response = {
  content?: Record<string, { schema?: unknown }>;
  headers?: Record<string, { required?: boolean }>;
};

const DOC_ID = 'https://htbase.invalid/openapi.json';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const pointer = (...parts: string[]) => parts.map((p) => `/${p.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

export interface Contract {
  /** The documented operation an answer belongs to (`get /archives/{id}`), or null. */
  operationOf(method: string, path: string): string | null;
  /** The problems with an answer: [] when it conforms, null when the document has no operation for it. */
  check(answer: Answer): string[] | null;
  /** Compiles every component and every answer schema (strict mode throws on a bad one); returns how many. */
  compileAll(): number;
  /** Throws a ContractError listing the problems; an answer with no documented operation passes. */
  assert(answer: Answer): void;
}

export function createContract(document: unknown): Contract {
  const doc = document as Doc;
  // strict: a schema keyword ajv does not know is an error in the document, not something to skip over.
  // zod pairs uuid and date-time with a pattern that does the checking, so the formats themselves are annotations.
  const ajv = new Ajv2020({ allErrors: true, strict: true, formats: { uuid: true, 'date-time': true } });
  // The document's own top-level fields are not schema keywords: declared, so only the schemas are checked.
  ajv.addVocabulary(Object.keys(document as object).filter((k) => !k.startsWith('$')));
  ajv.addSchema(document as object, DOC_ID);
  const templates = Object.keys(doc.paths).map((template) => ({
    template,
    re: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }));
  const validators = new Map<string, ValidateFunction>();
  const validator = (ref: string) => {
    let v = validators.get(ref);
    if (!v) validators.set(ref, (v = ajv.compile({ $ref: `${DOC_ID}#${ref}` })));
    return v;
  };

  function find(rawMethod: string, rawPath: string) {
    const method = rawMethod.toLowerCase() === 'head' ? 'get' : rawMethod.toLowerCase();
    const path = rawPath.split('?')[0]!;
    const template = templates.find((t) => t.re.test(path))?.template;
    const op = template && METHODS.includes(method) ? doc.paths[template]![method] : undefined;
    return template && op ? { method, template, op } : null;
  }

  function check(a: Answer): string[] | null {
    const found = find(a.method, a.path);
    if (!found) return null;
    const { method, template, op } = found;
    const where = `${a.method.toUpperCase()} ${a.path} -> ${a.status}`;
    const key = [String(a.status), `${String(a.status)[0]}XX`, 'default'].find((k) => k in op.responses);
    if (!key) return [`${where}: status not documented for ${method} ${template}`];
    const res = op.responses[key]!;
    const errors: string[] = [];
    for (const [name, h] of Object.entries(res.headers ?? {}))
      if (h.required && !a.headers.has(name)) errors.push(`${where}: required header ${name} missing`);
    if (!res.content) {
      if (a.status === 204 && Buffer.isBuffer(a.body) && a.body.length > 0) errors.push(`${where}: 204 with a body`);
      return errors;
    }
    const type = (a.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const media = Object.keys(res.content).find(
      (m) => m === type || m === '*/*' || (m.endsWith('/*') && type.startsWith(m.slice(0, -1))),
    );
    if (!media) return [...errors, `${where}: content type ${type || '(none)'} not in ${Object.keys(res.content)}`];
    // A HEAD answer has the GET's headers and no body to check.
    if (res.content[media]!.schema === undefined || a.method.toLowerCase() === 'head') return errors;
    const v = validator(pointer('paths', template, method, 'responses', key, 'content', media, 'schema'));
    if (!v(a.body))
      for (const e of v.errors ?? []) errors.push(`${where}: body${e.instancePath} ${e.message} (${e.schemaPath})`);
    return errors;
  }

  return {
    operationOf(method, path) {
      const found = find(method, path);
      return found ? `${found.method} ${found.template}` : null;
    },
    check,
    compileAll() {
      const refs = Object.keys((document as { components?: { schemas?: object } }).components?.schemas ?? {}).map(
        (id) => pointer('components', 'schemas', id),
      );
      for (const [template, item] of Object.entries(doc.paths))
        for (const [method, op] of Object.entries(item))
          for (const [key, res] of Object.entries(op.responses ?? {}))
            for (const [media, c] of Object.entries(res.content ?? {}))
              if (c.schema !== undefined)
                refs.push(pointer('paths', template, method, 'responses', key, 'content', media, 'schema'));
      for (const ref of refs) validator(ref);
      return refs.length;
    },
    assert(a) {
      const errors = check(a);
      if (errors?.length) throw new ContractError(`answer does not match /openapi.json:\n${errors.join('\n')}`);
    },
  };
}

const contracts = new Map<string, Promise<Contract | null>>();

/**
 * The contract of the server at `base`, from its own /openapi.json (fetched once per base). null when the
 * server serves no document (not an HT Base API): its answers are not checked.
 */
export function contractOf(base: string): Promise<Contract | null> {
  let c = contracts.get(base);
  if (!c) {
    c = fetch(`${base}/openapi.json`).then(async (r) =>
      r.ok && (r.headers.get('content-type') ?? '').includes('json') ? createContract(await r.json()) : null,
    );
    // A failed fetch is not cached: the next call asks again.
    c.catch(() => contracts.delete(base));
    contracts.set(base, c);
  }
  return c;
}
