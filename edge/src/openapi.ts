/**
 * The OpenAPI 3.1 document of the public API, generated from the zod schemas in shared/ (zod's own
 * JSON Schema output), not written by hand: a change to a schema changes the document.
 */
import { z } from 'zod';
import { ERROR_CODES, JOB_STATUSES, OUTPUT_FORMATS, ReconstructionJobListSchema, ReconstructionJobSchema, ReconstructOptionsSchema, ReconstructResponseSchema } from '@facerecon/shared';

export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.enum(ERROR_CODES as [string, ...string[]]),
    message: z.string(),
    message_zh: z.string(),
    request_id: z.string().optional(),
    hint: z.string().optional(),
  }),
});

/** A webhook's body: `reconstruction.<status>` of a job that ended, with the job (sent signed, Standard Webhooks). */
export const WebhookEventSchema = z.object({
  type: z.enum(JOB_STATUSES.filter((s) => s === 'succeeded' || s === 'failed' || s === 'canceled').map((s) => `reconstruction.${s}`) as [string, ...string[]]),
  timestamp: z.iso.datetime(),
  data: ReconstructionJobSchema,
});

export const UsageSchema = z.object({
  key: z.object({ id: z.string(), name: z.string(), plan: z.string() }),
  period: z.object({ start: z.string(), end: z.string() }),
  billable_calls: z.number().int(),
  requests: z.number().int(),
  quota: z.number().int(),
  in_flight: z.number().int().describe('Units held by calls and jobs still running: billed if they succeed, given back if they fail.'),
  remaining: z.number().int().describe('quota - billable_calls - in_flight: the calls that can start now.'),
});

const schema = (s: z.ZodType, io: 'input' | 'output' = 'output') => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

export function buildOpenApi(serverUrl: string): Record<string, unknown> {
  const options = schema(ReconstructOptionsSchema, 'input') as { properties: Record<string, Record<string, unknown>> };
  const params = Object.entries(options.properties).map(([name, s]) => ({ name, in: 'query', required: false, schema: s }));
  const callHeaders = [
    { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', pattern: '^[!-~]{8,128}$' }, description: '8-128 printable ASCII characters (no spaces). Retries with the same key and body within 24 h return the first response, uncharged; while the first is still running they get 409 IDEMPOTENCY_IN_PROGRESS with Retry-After. An async job that fails on the service\'s side (5xx) frees its key.' },
    { name: 'X-Request-Id', in: 'header', required: false, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{8,64}$' }, description: 'Your own id for correlation: echoed as X-Client-Request-Id and kept with the usage record; the request itself is named by the X-Request-Id the API returns.' },
  ];
  const H = {
    requestId: { $ref: '#/components/headers/RequestId' },
    retryAfter: { $ref: '#/components/headers/RetryAfter' },
    replayed: { $ref: '#/components/headers/IdempotentReplayed' },
    location: { $ref: '#/components/headers/Location' },
    clientRequestId: { $ref: '#/components/headers/ClientRequestId' },
    rateLimitRemaining: { $ref: '#/components/headers/RateLimitRemaining' },
    preferenceApplied: { $ref: '#/components/headers/PreferenceApplied' },
  };
  const err = (description: string, headers: Record<string, unknown> = {}) => ({ description, headers: { 'X-Request-Id': H.requestId, 'X-Client-Request-Id': H.clientRequestId, ...headers }, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
  // A stored final answer (a 4xx such as NO_FACE, or 409 CANCELED) is replayed to a retry with its key.
  const replayable = (description: string) => err(description, { 'Idempotent-Replayed': H.replayed });
  const retryable = (description: string) => err(description, { 'Retry-After': H.retryAfter });
  // Photos are binary bodies; no JSON Schema type (generators then accept Blob, bytes or a stream).
  const photo = { description: 'The photo, as the phone saved it' };
  const photoBody = {
    required: true,
    content: {
      'image/jpeg': { schema: photo },
      'image/png': { schema: photo },
      'image/webp': { schema: photo },
      'image/heic': { schema: photo },
      'image/heif': { schema: photo },
      'image/avif': { schema: photo },
      'application/octet-stream': { schema: photo },
      'multipart/form-data': {
        schema: { type: 'object', required: ['image'], properties: { image: { description: 'The photo file', contentMediaType: 'application/octet-stream' }, ...options.properties, webhook_url: { type: 'string', format: 'uri' } } },
      },
    },
  };
  const reconstructErrors = {
    // A final refusal (any 4xx but 401/402/403/429) is stored under an Idempotency-Key and replayed.
    '400': replayable('INVALID_IMAGE, INVALID_REQUEST'),
    '401': err('UNAUTHORIZED'),
    '402': err('QUOTA_EXCEEDED'),
    '403': err('KEY_REVOKED, HTTPS_REQUIRED'),
    '409': err('IDEMPOTENCY_IN_PROGRESS (with Retry-After: retry), CANCELED (the call was canceled with DELETE while it ran: final, and what a retry with its Idempotency-Key replays)', { 'Retry-After': H.retryAfter, 'Idempotent-Replayed': H.replayed }),
    '413': replayable('IMAGE_TOO_LARGE'),
    '415': replayable('UNSUPPORTED_FORMAT'),
    '422': replayable('NO_FACE, MULTIPLE_FACES, FACE_TOO_SMALL, FACE_CUT_OFF, LOW_CONFIDENCE, FACE_TURNED_AWAY, LOW_QUALITY, IMAGE_TOO_SMALL, IDEMPOTENCY_KEY_REUSED'),
    '429': retryable('RATE_LIMITED'),
    '501': err('MODEL_NOT_INSTALLED (model=ict on a deployment without the ICT-FaceKit pack)'),
    '500': err('INTERNAL'),
    '502': err('UPSTREAM_UNAVAILABLE'),
    '503': retryable('OVERLOADED, STORAGE_UNAVAILABLE, MODEL_UNAVAILABLE (the face models could not run on this instance)'),
    '504': err('TIMEOUT'),
  };
  // Every route behind an API key: a wrong key, a revoked one, and too many failed attempts from one address.
  const keyErrors = { '401': err('UNAUTHORIZED'), '403': err('KEY_REVOKED, HTTPS_REQUIRED'), '429': retryable('RATE_LIMITED (failed-key attempts from this address, or the key\'s rate)'), '500': err('INTERNAL (the database failed: retry)') };
  const lang = { name: 'lang', in: 'query', required: false, schema: { type: 'string', enum: ['en', 'zh'] }, description: 'Language of error messages (also from Accept-Language)' };
  return {
    openapi: '3.1.0',
    info: {
      title: 'facerecon API',
      version: '1.0.0',
      description: `One selfie in, a textured 3D face out. Formats: ${OUTPUT_FORMATS.join(', ')}. Every error has a stable code, an English and a Chinese message. Every call is a job (its id is the X-Request-Id); job records and the results they hold, idempotency records and assets are kept 24 h, then deleted; photos are deleted when their job ends.`,
      license: { name: 'facerecon API terms of service', url: 'https://facerecon.example/terms' },
      contact: { name: 'facerecon support', url: 'https://facerecon.example/support' },
    },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API key (fr_live_...)' } },
      headers: {
        RequestId: { description: 'The id the API gave this call (a random UUID v4, 122 random bits, without dashes); the job id of a reconstruction. An idempotent replay is a call of its own: its Location names the job whose answer it replays.', schema: { type: 'string' } },
        RetryAfter: { description: 'Seconds to wait before retrying or polling again', schema: { type: 'integer', minimum: 0 } },
        IdempotentReplayed: { description: '"true" when this is the stored answer to an earlier call with the same Idempotency-Key', schema: { type: 'string', enum: ['true'] } },
        Location: { description: 'The job: /v1/reconstructions/{id}', schema: { type: 'string' } },
        ClientRequestId: { description: 'Your X-Request-Id, echoed when you sent one', schema: { type: 'string' } },
        RateLimitRemaining: { description: 'Calls left in the key\'s current rate window', schema: { type: 'integer', minimum: 0 } },
        PreferenceApplied: { description: 'RFC 7240: the Prefer the answer honoured (respond-async, or wait=N)', schema: { type: 'string' } },
      },
      schemas: {
        Reconstruction: schema(ReconstructResponseSchema),
        Usage: schema(UsageSchema),
        Error: schema(ErrorBodySchema),
        ReconstructionJob: schema(ReconstructionJobSchema),
        ReconstructionJobList: schema(ReconstructionJobListSchema),
        WebhookEvent: schema(WebhookEventSchema),
      },
    },
    // What a job's webhook_url receives when the job ends (OpenAPI 3.1 webhooks): one POST per attempt,
    // signed with the key's whsec_ secret (webhook-id, webhook-timestamp, webhook-signature headers).
    webhooks: {
      reconstructionEnded: {
        post: {
          operationId: 'reconstructionEnded',
          summary: 'A job ended: reconstruction.succeeded, reconstruction.failed or reconstruction.canceled, with the job',
          security: [],
          parameters: [
            { name: 'webhook-id', in: 'header', required: true, schema: { type: 'string' }, description: 'The same on every retry of one event: deduplicate on it' },
            { name: 'webhook-timestamp', in: 'header', required: true, schema: { type: 'string' }, description: 'Unix seconds; refuse one more than 5 minutes off' },
            { name: 'webhook-signature', in: 'header', required: true, schema: { type: 'string' }, description: 'v1,base64(HMAC-SHA256(base64-decoded secret, "{webhook-id}.{webhook-timestamp}.{body}"))' },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/WebhookEvent' } } } },
          responses: { '200': { description: 'Any 2xx is delivery; 410 Gone ends the deliveries; anything else is retried (5 s, 30 s, 2 min, ...)' } },
        },
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/reconstructions': {
        get: {
          operationId: 'listReconstructions',
          summary: 'The key\'s jobs, newest first (24 h)',
          parameters: [
            { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
            { name: 'cursor', in: 'query', required: false, schema: { type: 'string' }, description: 'next_cursor of the previous page' },
            lang,
          ],
          responses: { '200': { description: 'A page of jobs', content: { 'application/json': { schema: { $ref: '#/components/schemas/ReconstructionJobList' } } } }, '400': err('INVALID_REQUEST (limit not an integer 1-100, a cursor this list did not give)'), ...keyErrors },
        },
        post: {
          operationId: 'createReconstruction',
          summary: 'Reconstruct a textured 3D face from one photo',
          parameters: [
            ...params,
            { name: 'webhook_url', in: 'query', required: false, schema: { type: 'string', format: 'uri' }, description: 'https URL (public host) that receives the job\'s final state, signed as Standard Webhooks with the key\'s secret (GET /v1/webhook-secret). Makes the call async.' },
            ...callHeaders,
            { name: 'Prefer', in: 'header', required: false, schema: { type: 'string', examples: ['respond-async', 'wait=10'] }, description: 'RFC 7240. respond-async: answer 202 with the job at once; wait=N (<= 60): wait up to N seconds for the job, then 202.' },
            { name: 'Accept', in: 'header', required: false, schema: { type: 'string', examples: ['text/event-stream'] }, description: 'text/event-stream: the answer is the event stream of POST /v1/reconstructions/stream, described there (not with Prefer or webhook_url)' },
          ],
          requestBody: photoBody,
          responses: {
            '200': {
              description: 'The reconstruction: signed, expiring asset URLs and metadata (with Prefer: wait=N, the finished job instead, with its Location; with Accept: text/event-stream, the events of POST /v1/reconstructions/stream)',
              headers: { 'X-Request-Id': H.requestId, 'X-Client-Request-Id': H.clientRequestId, 'X-RateLimit-Remaining': H.rateLimitRemaining, 'Idempotent-Replayed': H.replayed, Location: H.location, 'Preference-Applied': H.preferenceApplied },
              // The event stream that Accept: text/event-stream asks for is described once, as its own
              // operation (POST /v1/reconstructions/stream), so that generated clients type this one as JSON.
              content: { 'application/json': { schema: { oneOf: [{ $ref: '#/components/schemas/Reconstruction' }, { $ref: '#/components/schemas/ReconstructionJob' }] } } },
            },
            '202': {
              description: 'Accepted as a job (Prefer: respond-async or wait, or a webhook_url); poll Location',
              headers: { 'X-Request-Id': H.requestId, 'X-Client-Request-Id': H.clientRequestId, 'X-RateLimit-Remaining': H.rateLimitRemaining, Location: H.location, 'Retry-After': H.retryAfter, 'Preference-Applied': H.preferenceApplied, 'Idempotent-Replayed': H.replayed },
              content: { 'application/json': { schema: { $ref: '#/components/schemas/ReconstructionJob' } } },
            },
            ...reconstructErrors,
          },
        },
      },
      '/v1/reconstructions/stream': {
        post: {
          operationId: 'streamReconstruction',
          summary: 'Reconstruct, with progress: `stage` events ({ stage, elapsed_ms }), then one `result` (Reconstruction) or `error` (Error with the HTTP `status` the call would have answered) event',
          description: 'The same call as POST /v1/reconstructions, answered as Server-Sent Events. Errors found before any work (validation, keys, quota) are plain JSON errors. It always streams: `webhook_url` and `Prefer: respond-async` / `wait` belong to POST /v1/reconstructions and are refused here (400 INVALID_REQUEST).',
          parameters: [...params, ...callHeaders],
          requestBody: photoBody,
          responses: {
            '200': {
              description: 'text/event-stream: event `stage` data { stage, elapsed_ms }; event `result` data Reconstruction; event `error` data Error with `status`. A retry of a finished call with its Idempotency-Key gets the stored Reconstruction as application/json (Idempotent-Replayed: true).',
              headers: { 'X-Request-Id': H.requestId, 'X-Client-Request-Id': H.clientRequestId, 'X-RateLimit-Remaining': H.rateLimitRemaining, 'Idempotent-Replayed': H.replayed },
              content: {
                'text/event-stream': { schema: { type: 'string', description: 'Server-Sent Events', contentMediaType: 'text/event-stream' } },
                // A replay: the stored Reconstruction, or, once DELETE erased the result, the erased job.
                'application/json': { schema: { oneOf: [{ $ref: '#/components/schemas/Reconstruction' }, { $ref: '#/components/schemas/ReconstructionJob' }] } },
              },
            },
            ...reconstructErrors,
          },
        },
      },
      '/v1/reconstructions/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9a-f]{32}$' }, description: 'The job id: the X-Request-Id of the call that made it' }],
        get: { operationId: 'getReconstruction', summary: 'A job: status, attempts, stage events, the error or the result (kept 24 h)', parameters: [lang], responses: { '200': { description: 'The job; while it is queued or running, Retry-After says when to poll again', headers: { 'X-Request-Id': H.requestId, 'Retry-After': H.retryAfter }, content: { 'application/json': { schema: { $ref: '#/components/schemas/ReconstructionJob' } } } }, ...keyErrors, '404': err('NOT_FOUND (also for another key\'s job)') } },
        delete: { operationId: 'deleteReconstruction', summary: 'Cancel a queued or running job (not billed), or erase a finished one\'s assets and stored result; idempotent', parameters: [lang], responses: { '200': { description: 'The job after the deletion', content: { 'application/json': { schema: { $ref: '#/components/schemas/ReconstructionJob' } } } }, ...keyErrors, '404': err('NOT_FOUND'), '503': retryable('STORAGE_UNAVAILABLE (retry)') } },
      },
      '/v1/webhook-secret': {
        get: { operationId: 'getWebhookSecret', summary: 'The key\'s Standard Webhooks signing secret (whsec_...)', responses: { '200': { description: 'The secret', content: { 'application/json': { schema: { type: 'object', properties: { secret: { type: 'string' }, scheme: { type: 'string' } } } } } }, ...keyErrors } },
      },
      '/v1/openapi.json': { get: { operationId: 'getOpenApi', security: [], summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } }, '403': err('HTTPS_REQUIRED (plain http beyond loopback)') } } },
      '/v1/usage': {
        get: { operationId: 'getUsage', summary: 'Billable calls and remaining quota this month', responses: { '200': { description: 'Usage', content: { 'application/json': { schema: { $ref: '#/components/schemas/Usage' } } } }, ...keyErrors } },
      },
    },
  };
}
