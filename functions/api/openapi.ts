// The OpenAPI description served at /openapi.json: the contract of DESIGN.md in machine-readable form.
import { FORMATS } from '../../shared/core/formats.ts';

const problem = { $ref: '#/components/schemas/Problem' };
const errors = {
  '400': { description: 'Bad input', content: { 'application/problem+json': { schema: problem } } },
  '401': { description: 'Missing or invalid API key', content: { 'application/problem+json': { schema: problem } } },
  '404': { description: 'Unknown archive', content: { 'application/problem+json': { schema: problem } } },
  '429': {
    description: 'Rate limited (see Retry-After)',
    content: { 'application/problem+json': { schema: problem } },
  },
};
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'HT Base',
    version: '1',
    description: 'Web archive: SingleFile, monolith, PDF, screenshot, readable text and summaries.',
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Problem: {
        type: 'object',
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
        },
      },
      Format: { type: 'string', enum: [...FORMATS] },
      Artifact: {
        type: 'object',
        properties: {
          format: { $ref: '#/components/schemas/Format' },
          status: { type: 'string', enum: ['pending', 'running', 'succeeded', 'failed', 'skipped'] },
          contentType: { type: ['string', 'null'] },
          sizeBytes: { type: ['integer', 'null'] },
          sha256: { type: ['string', 'null'] },
          errorCode: { type: ['string', 'null'] },
          errorMessage: { type: ['string', 'null'] },
          attempts: { type: 'integer' },
        },
      },
      Archive: {
        type: 'object',
        properties: {
          id: { type: 'string', format: 'uuid' },
          url: { type: 'string' },
          finalUrl: { type: ['string', 'null'] },
          status: { type: 'string', enum: ['pending', 'running', 'complete', 'partial', 'failed'] },
          title: { type: ['string', 'null'] },
          createdAt: { type: 'string', format: 'date-time' },
          updatedAt: { type: 'string', format: 'date-time' },
          version: { type: 'integer' },
          artifacts: { type: 'array', items: { $ref: '#/components/schemas/Artifact' } },
          summary: { type: ['object', 'null'] },
          links: { type: 'object' },
        },
      },
    },
  },
  security: [{ bearer: [] }],
  paths: {
    '/archive': {
      post: {
        summary: 'Archive a URL',
        parameters: [{ name: 'Idempotency-Key', in: 'header', schema: { type: 'string', maxLength: 200 } }],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['url'],
                additionalProperties: false,
                properties: {
                  url: { type: 'string', format: 'uri' },
                  formats: { type: 'array', items: { $ref: '#/components/schemas/Format' } },
                  force: { type: 'boolean', description: 'Capture again even if a recent snapshot exists' },
                },
              },
            },
          },
        },
        responses: {
          '202': { description: 'Accepted: capture started' },
          '200': { description: 'Deduplicated or idempotent replay' },
          ...errors,
        },
      },
    },
    '/archives': {
      get: {
        summary: 'List or search archives, newest first',
        parameters: ['q', 'url', 'status', 'cursor']
          .map((name) => ({ name, in: 'query', schema: { type: 'string' } }))
          .concat([{ name: 'limit', in: 'query', schema: { type: 'integer' } } as never]),
        responses: { '200': { description: '{items, nextCursor}' }, ...errors },
      },
    },
    '/archives/{id}': {
      get: {
        summary: 'Status of an archive',
        parameters: [idParam],
        responses: {
          '200': {
            description: 'The archive',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Archive' } } },
          },
          ...errors,
        },
      },
      delete: {
        summary: 'Delete an archive and its artifacts',
        parameters: [idParam],
        responses: { '204': { description: 'Deleted' }, ...errors },
      },
    },
    '/archives/{id}/artifacts/{format}': {
      get: {
        summary: 'Download an artifact (a signed URL redirect in the cloud, a stream locally)',
        parameters: [
          idParam,
          { name: 'format', in: 'path', required: true, schema: { $ref: '#/components/schemas/Format' } },
        ],
        responses: {
          '200': { description: 'The bytes' },
          '302': { description: 'Signed URL' },
          '409': { description: 'Not ready' },
          ...errors,
        },
      },
    },
    '/archives/{id}/retry': {
      post: {
        summary: 'Retry failed artifacts',
        parameters: [idParam],
        responses: { '202': { description: 'Retry started' }, '409': { description: 'Nothing to retry' }, ...errors },
      },
    },
    '/archives/{id}/summary': {
      post: {
        summary: 'Regenerate the summary',
        parameters: [idParam],
        responses: { '202': { description: 'Dispatched' }, ...errors },
      },
    },
    '/healthz': { get: { summary: 'Health', security: [], responses: { '200': { description: 'ok' } } } },
  },
} as const;
