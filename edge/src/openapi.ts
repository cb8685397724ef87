/**
 * The OpenAPI 3.1 document of the public API, generated from the zod schemas in shared/ (zod's own
 * JSON Schema output), not written by hand: a change to a schema changes the document.
 */
import { z } from 'zod';
import { ERROR_CODES, OUTPUT_FORMATS, ReconstructOptionsSchema, ReconstructResponseSchema, StageEventSchema } from '@facerecon/shared';

export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES as [string, ...string[]]),
    message: z.string(),
    message_zh: z.string(),
    request_id: z.string().optional(),
    hint: z.string().optional(),
  }),
});

export const UsageSchema = z.object({
  key: z.object({ id: z.string(), name: z.string(), plan: z.string() }),
  period: z.object({ start: z.string(), end: z.string() }),
  billable_calls: z.number().int(),
  requests: z.number().int(),
  quota: z.number().int(),
  remaining: z.number().int(),
});

const schema = (s: z.ZodType, io: 'input' | 'output' = 'output') => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

export function buildOpenApi(serverUrl: string): Record<string, unknown> {
  const options = schema(ReconstructOptionsSchema, 'input') as { properties: Record<string, Record<string, unknown>> };
  const params = Object.entries(options.properties).map(([name, s]) => ({ name, in: 'query', required: false, schema: s }));
  const err = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
  return {
    openapi: '3.1.0',
    info: {
      title: 'facerecon API',
      version: '1.0.0',
      description: `One selfie in, a textured 3D face out. Formats: ${OUTPUT_FORMATS.join(', ')}. Every error has a stable code, an English and a Chinese message.`,
    },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API key (fr_live_...)' } },
      schemas: {
        ReconstructOptions: schema(ReconstructOptionsSchema, 'input'),
        Reconstruction: schema(ReconstructResponseSchema),
        StageEvent: schema(StageEventSchema),
        Usage: schema(UsageSchema),
        Error: schema(ErrorBodySchema),
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/reconstructions': {
        post: {
          operationId: 'createReconstruction',
          summary: 'Reconstruct a textured 3D face from one photo',
          parameters: [
            ...params,
            { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', minLength: 8, maxLength: 128 }, description: 'Retries with the same key and body within 24 h return the first response, uncharged.' },
            { name: 'Accept', in: 'header', required: false, schema: { type: 'string', enum: ['application/json', 'text/event-stream'] } },
            { name: 'X-Request-Id', in: 'header', required: false, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{8,64}$' }, description: 'Your own id for correlation: echoed as X-Client-Request-Id and kept with the usage record; the request itself is named by the X-Request-Id the API returns.' },
          ],
          requestBody: {
            required: true,
            content: {
              'image/jpeg': { schema: { type: 'string', format: 'binary' } },
              'image/png': { schema: { type: 'string', format: 'binary' } },
              'image/webp': { schema: { type: 'string', format: 'binary' } },
              'image/heic': { schema: { type: 'string', format: 'binary' } },
              'image/avif': { schema: { type: 'string', format: 'binary' } },
              'multipart/form-data': {
                schema: { type: 'object', required: ['image'], properties: { image: { type: 'string', format: 'binary' }, ...options.properties } },
              },
            },
          },
          responses: {
            '200': {
              description: 'Signed, expiring asset URLs and metadata; with Accept: text/event-stream, `stage` events then a `result` (or `error`) event',
              content: {
                'application/json': { schema: { $ref: '#/components/schemas/Reconstruction' } },
                'text/event-stream': { schema: { $ref: '#/components/schemas/StageEvent' } },
              },
            },
            '400': err('INVALID_IMAGE, INVALID_REQUEST'),
            '401': err('UNAUTHORIZED'),
            '402': err('QUOTA_EXCEEDED'),
            '403': err('KEY_REVOKED, HTTPS_REQUIRED'),
            '409': err('IDEMPOTENCY_IN_PROGRESS'),
            '413': err('IMAGE_TOO_LARGE'),
            '415': err('UNSUPPORTED_FORMAT'),
            '422': err('NO_FACE, MULTIPLE_FACES, FACE_TOO_SMALL, LOW_CONFIDENCE, IMAGE_TOO_SMALL, IDEMPOTENCY_KEY_REUSED'),
            '429': err('RATE_LIMITED'),
            '501': err('MODEL_NOT_INSTALLED (model=ict on a deployment without the ICT-FaceKit pack)'),
            '500': err('INTERNAL'),
            '502': err('UPSTREAM_UNAVAILABLE'),
            '503': err('OVERLOADED'),
            '504': err('TIMEOUT'),
          },
        },
      },
      '/v1/usage': {
        get: { operationId: 'getUsage', summary: 'Billable calls and remaining quota this month', responses: { '200': { description: 'Usage', content: { 'application/json': { schema: { $ref: '#/components/schemas/Usage' } } } }, '401': err('UNAUTHORIZED') } },
      },
      '/v1/openapi.json': { get: { operationId: 'getOpenApi', security: [], summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } } },
    },
  };
}
