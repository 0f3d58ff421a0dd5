// Renders the OpenAPI 3.1 document served at /openapi.json from the routes' own operation specs and zod schemas
// (zod 4's z.toJSONSchema; OpenAPI 3.1 uses JSON Schema 2020-12 as is). Nothing in it is written by hand twice.
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { FORMATS } from '../../shared/core/formats.ts';
import { FormatName, ProblemBody, requestComponents, responseComponents } from './schemas.ts';

type JsonSchema = Record<string, unknown>;

/** One answer of an operation: a JSON body, a problem, raw bytes, or nothing (204, 302). */
export interface Reply {
  description: string;
  json?: z.ZodType;
  problem?: z.ZodType;
  bytes?: true;
  headers?: Record<string, { description: string; required?: boolean }>;
}

/** What a route module declares next to its handler: the document is built from a list of these. */
export interface Operation {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** The OpenAPI path template, e.g. `/archives/{id}`. */
  path: string;
  summary: string;
  /** Served before authentication and rate limiting (health, the document itself). */
  public?: true;
  params?: { path?: z.ZodObject; query?: z.ZodObject; header?: z.ZodObject };
  body?: { schema: z.ZodType; required: boolean };
  responses: Record<number, Reply>;
}

/** A problem reply with the generic Problem schema unless a more precise one is given. */
export const problem = (description: string, schema: z.ZodType = ProblemBody): Reply => ({
  description,
  problem: schema,
});

const REF = (id: string) => `#/components/schemas/${id}`;

/** Renders a table of named schemas through one zod registry, so that they refer to each other by $ref. */
function renderComponents(table: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(table)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io,
    uri: REF,
    // Requests carry any string as a format so the route can name the unknown one; the document lists the known.
    override: ({ zodSchema, jsonSchema }) => {
      if (zodSchema === FormatName) jsonSchema.enum = [...FORMATS];
    },
  });
  // Inside the document a component is not a resource of its own: drop the per-schema $schema and $id.
  return Object.fromEntries(
    Object.entries(schemas).map(([id, s]) => {
      const { $schema: _s, $id: _i, ...rest } = s as JsonSchema;
      return [id, rest];
    }),
  );
}

function buildComponents(): Record<string, JsonSchema> {
  const requests = renderComponents(requestComponents, 'input');
  const responses = renderComponents(responseComponents, 'output');
  for (const [id, s] of Object.entries(requests)) {
    if (id in responses && !isDeepStrictEqual(responses[id], s))
      throw new Error(`openapi: component ${id} differs between requests and responses`);
  }
  return { ...requests, ...responses };
}

function refTo(schema: z.ZodType, table: Record<string, z.ZodType>): { $ref: string } {
  const id = Object.entries(table).find(([, s]) => s === schema)?.[0];
  // Every body in the document is a named component, so clients get one name per shape.
  if (!id) throw new Error('openapi: a request or response schema is not listed in schemas.ts components');
  return { $ref: REF(id) };
}

function parameters(op: Operation): JsonSchema[] {
  return (['path', 'query', 'header'] as const).flatMap((where) => {
    const obj = op.params?.[where];
    if (!obj) return [];
    const s = z.toJSONSchema(obj, { target: 'draft-2020-12', io: 'input' }) as {
      properties: Record<string, JsonSchema>;
      required?: string[];
    };
    return Object.entries(s.properties).map(([name, schema]) => ({
      name,
      in: where,
      required: where === 'path' || (s.required ?? []).includes(name),
      schema,
    }));
  });
}

function reply(r: Reply): JsonSchema {
  const out: JsonSchema = { description: r.description };
  if (r.json) out.content = { 'application/json': { schema: refTo(r.json, responseComponents) } };
  if (r.problem) out.content = { 'application/problem+json': { schema: refTo(r.problem, responseComponents) } };
  if (r.bytes) out.content = { '*/*': {} };
  if (r.headers)
    out.headers = Object.fromEntries(
      Object.entries(r.headers).map(([name, h]) => [
        name,
        { description: h.description, required: h.required ?? false, schema: { type: 'string' } },
      ]),
    );
  return out;
}

/** Answers every operation can give besides its own: admission (auth, rate limit) and the generic 500. */
function commonReplies(op: Operation): Record<number, Reply> {
  const internal = { 500: problem('Internal error; the body never echoes internals') };
  if (op.public) return internal;
  return {
    401: {
      ...problem('Missing or invalid credentials'),
      headers: { 'WWW-Authenticate': { description: 'Bearer', required: true } },
    },
    403: problem('Not allowed: an account with no user here, a read-only key writing, or `owner` named by a non-admin'),
    429: {
      ...problem('Rate limited: writes and reads have separate budgets per caller'),
      headers: { 'Retry-After': { description: 'Seconds until the budget refills', required: true } },
    },
    ...internal,
  };
}

function operation(op: Operation): JsonSchema {
  const out: JsonSchema = { summary: op.summary };
  const params = parameters(op);
  if (params.length) out.parameters = params;
  if (op.body)
    out.requestBody = {
      required: op.body.required,
      content: { 'application/json': { schema: refTo(op.body.schema, requestComponents) } },
    };
  const all = { ...op.responses, ...commonReplies(op) };
  out.responses = Object.fromEntries(
    Object.keys(all)
      .sort()
      .map((status) => [status, reply(all[Number(status)]!)]),
  );
  if (op.public) out.security = [];
  return out;
}

/** The whole document for a list of operations; called once when the app is built. */
export function buildOpenApiDocument(operations: Operation[]) {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const op of operations) {
    const item = (paths[op.path] ??= {});
    if (item[op.method]) throw new Error(`openapi: ${op.method} ${op.path} declared twice`);
    item[op.method] = operation(op);
  }
  return {
    openapi: '3.1.0' as const,
    info: {
      title: 'HT Base',
      version: '1',
      description: 'Web archive: SingleFile, monolith, PDF, screenshot, readable text and summaries.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas: buildComponents() },
    security: [{ bearer: [] }],
    paths,
  };
}
