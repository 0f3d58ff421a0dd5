// The routes served before admission: GET /healthz (liveness: the process answers, without touching the
// database, so a database outage never gets healthy instances restarted), GET /readyz (readiness: the database
// answers, plus the deployable's own checks) and GET /openapi.json (built from every route module's operations).
import type { Router } from 'express';
import { sql } from 'kysely';
import type { RouteContext } from '../deps.ts';
import { route } from '../middleware.ts';
import type { Operation } from '../openapi.ts';
import { Health, OpenApiDocument } from '../schemas.ts';

export const metaOperations: Operation[] = [
  {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: the process answers (no database call); the deployable adds its own fields',
    public: true,
    responses: { 200: { description: 'ok', json: Health } },
  },
  {
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: the database answers; the deployable adds its own fields',
    public: true,
    responses: { 200: { description: 'ok', json: Health } },
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    public: true,
    responses: { 200: { description: 'The OpenAPI 3.1 document', json: OpenApiDocument } },
  },
];

export function metaRoutes(app: Router, ctx: RouteContext, document: object): void {
  app.get(
    '/healthz',
    route(async (_req, res) => {
      res.json({ status: 'ok', ...(await ctx.deps.health?.()) });
    }),
  );
  app.get(
    '/readyz',
    route(async (_req, res) => {
      await sql`select 1`.execute(ctx.deps.db);
      res.json({ status: 'ok', ...(await ctx.deps.health?.()) });
    }),
  );
  app.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
}
