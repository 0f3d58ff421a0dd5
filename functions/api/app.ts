// The HTTP API (functions/api): createApp(deps) composes the route modules into the Express app that the
// Functions Framework entry point and the embedded mode serve, and builds /openapi.json from their operations.
import express from 'express';
import type { Format } from '../../shared/core/formats.ts';
import { Problem } from '../../shared/core/errors.ts';
import type { ApiDeps, RouteContext } from './deps.ts';
import { admission, bodyParsers } from './middleware.ts';
import { requestGuards } from './request-guards.ts';
import { cors } from './cors.ts';
import { extensionRoutes } from './web/extension-zip.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { mountWebApp } from './web/serve.ts';
import { errorHandler, problemType, sendProblem } from './problems.ts';
import { archiveOperations, archiveRoutes } from './routes/archives.ts';
import { artifactOperations, artifactRoutes } from './routes/artifacts.ts';
import { metaOperations, metaRoutes } from './routes/meta.ts';
import { retryOperations, retryRoutes } from './routes/retry.ts';
import { submitOperations, submitRoutes } from './routes/submit.ts';
import { summaryOperations, summaryRoutes } from './routes/summary.ts';
import { shareOperations, shareRoutes, sharedRoutes } from './routes/share.ts';
import { uploadOperations, uploadRoutes } from './routes/upload.ts';
import { cookieOperations, cookieRoutes } from './routes/cookies.ts';
import { importOperations, importRoutes } from './routes/imports.ts';
import { exportOperations, exportRoutes } from './routes/export.ts';

export type { ApiDeps, Principal } from './deps.ts';

/** Every operation the app serves, in the document's order. */
export const operations = [
  ...submitOperations,
  ...uploadOperations,
  ...cookieOperations,
  ...archiveOperations,
  ...artifactOperations,
  ...retryOperations,
  ...summaryOperations,
  ...shareOperations,
  ...importOperations,
  ...exportOperations,
  ...metaOperations,
];
export const openApiDocument = buildOpenApiDocument(operations);

export function createApp(deps: ApiDeps): express.Express {
  const log = deps.logger.child({ component: 'api' });
  const ctx: RouteContext = { deps, log, changes: { publisher: deps.publisher, logger: log } };
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy ?? false);
  app.set('query parser', 'simple');

  // Before anything runs or is written: a Host we answer to, a same-site Origin, a JSON (or multipart) body.
  if (deps.requestGuards) app.use(requestGuards(deps.requestGuards));
  // CORS only for the origins the guards trust (the app, the extension); preflights answer before auth.
  if (deps.requestGuards) app.use(cors(deps.requestGuards.allowedOrigins));
  extensionRoutes(app);
  // Health and the document answer before admission: probes and clients read them without a key.
  metaRoutes(app, ctx, openApiDocument);
  // The app shell is public (before auth); its data comes through the API.
  mountWebApp(app, { logger: log, firebase: deps.firebaseWeb });
  // A share link's token is the whole credential of the routes it opens.
  sharedRoutes(app, ctx);
  app.use(admission(deps));
  const { json, optionalJson } = bodyParsers(deps);
  submitRoutes(app, ctx, json);
  uploadRoutes(app, ctx);
  cookieRoutes(app, ctx);
  archiveRoutes(app, ctx);
  artifactRoutes(app, ctx);
  retryRoutes(app, ctx, optionalJson);
  summaryRoutes(app, ctx, optionalJson);
  shareRoutes(app, ctx);
  importRoutes(app, ctx);
  exportRoutes(app, ctx);

  app.use((req, res) =>
    sendProblem(res, new Problem(404, problemType('not-found'), 'Not found', `no route ${req.method} ${req.path}`)),
  );
  app.use(errorHandler(log));
  return app;
}

export type { Format };
