/**
 * Service configuration from the environment, validated once at start-up: a missing secret or a
 * malformed number stops the process with a message naming the variable, never a half-configured service.
 */
import { insecureUrlReason, isLoopbackHost } from '@facerecon/shared';
import { z } from 'zod';

const int = (def: number) => z.coerce.number().int().positive().default(def);

const EnvSchema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8788),
  FACERECON_SIGNING_SECRET: z.string().min(32, 'FACERECON_SIGNING_SECRET must be at least 32 characters (shared with the edge)'),
  /**
   * During a secret rotation: the previous secret, still accepted for verification (never used to sign)
   * until it is removed; see infra/README.md for the order of steps.
   */
  FACERECON_SIGNING_SECRET_PREVIOUS: z.string().min(32, 'FACERECON_SIGNING_SECRET_PREVIOUS must be at least 32 characters').optional(),
  /** Signs local-store asset URLs; defaults to a key derived from the signing secret. */
  FACERECON_ASSET_SECRET: z.string().min(32).optional(),
  FACERECON_PUBLIC_URL: z.string().url().optional(),
  FACERECON_STORE: z.enum(['local', 's3']).default('local'),
  FACERECON_LOCAL_STORE_DIR: z.string().default('.cache/assets'),
  FACERECON_ASSET_TTL_S: int(86_400),
  FACERECON_SWEEP_INTERVAL_S: int(600),
  FACERECON_CONCURRENCY: int(1),
  FACERECON_QUEUE_MAX: z.coerce.number().int().min(0).default(8),
  FACERECON_DEADLINE_MS: int(30_000),
  /**
   * At shutdown (SIGTERM), how long running reconstructions may finish before they are aborted with
   * OVERLOADED. Cloud Run kills the container 10 s after SIGTERM; the rest of the stop takes ~1.5 s.
   */
  FACERECON_SHUTDOWN_GRACE_MS: int(7_000),
  FACERECON_MAX_BODY_BYTES: int(15 * 1024 * 1024),
  /**
   * Milliseconds a client may take to send a whole request (headers and body). The edge sends its
   * signed request at datacenter speed; a connection that dribbles bytes is an attack on the slots the
   * edge needs, and the signature cannot be checked before the body is in.
   */
  FACERECON_REQUEST_READ_TIMEOUT_MS: int(30_000),
  /**
   * The ICT-FaceKit pack for model=ict: unset loads models/build/ict when it is there (else the model
   * is simply not installed); a path must load or start-up fails; "off" disables it.
   */
  FACERECON_ICT_PACK: z.string().optional(),
  /**
   * Bearer token for GET /metrics. Without one, /metrics answers anyone in development and no one
   * when NODE_ENV=production (a web endpoint on Modal or an `ingress: all` Cloud Run service is public).
   */
  FACERECON_METRICS_TOKEN: z.string().min(16, 'FACERECON_METRICS_TOKEN must be at least 16 characters').optional(),
  NODE_ENV: z.string().optional(),
  FACERECON_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('info'),
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().default('auto'),
  S3_BUCKET: z.string().optional(),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).default('false'),
});

export type ServiceConfig = z.output<typeof EnvSchema> & { publicUrl: string };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined> = process.env): ServiceConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  const c = parsed.data;
  // Signed asset URLs and S3 credentials must not travel in clear text beyond this machine.
  for (const [name, url] of [['FACERECON_PUBLIC_URL', c.FACERECON_PUBLIC_URL], ['S3_ENDPOINT', c.S3_ENDPOINT]] as const) {
    const why = url === undefined ? undefined : insecureUrlReason(url);
    if (why) throw new ConfigError(`${name}: ${why}`);
  }
  if (c.FACERECON_STORE === 's3' && (!c.S3_BUCKET || !c.S3_ACCESS_KEY_ID || !c.S3_SECRET_ACCESS_KEY)) {
    throw new ConfigError('FACERECON_STORE=s3 needs S3_BUCKET, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY');
  }
  // A SigV4 presigned URL lasts at most 7 days: a longer TTL would promise clients an expires_at the links
  // do not keep (and the bucket's lifecycle rule must keep the objects as long: infra/storage).
  if (c.FACERECON_STORE === 's3' && c.FACERECON_ASSET_TTL_S > 604_800) {
    throw new ConfigError(`FACERECON_ASSET_TTL_S: ${c.FACERECON_ASSET_TTL_S} s is past the 7 days (604800 s) an S3 presigned URL can last`);
  }
  // The local store signs links to this service's own address. Listening beyond loopback (HOST=0.0.0.0 in
  // the image) without FACERECON_PUBLIC_URL, those links would name http://0.0.0.0:8080: no client could
  // fetch them, and the result would be billed. A deployment says where its assets are served from, or uses s3.
  if (c.FACERECON_STORE === 'local' && c.FACERECON_PUBLIC_URL === undefined && !isLoopbackHost(c.HOST)) {
    throw new ConfigError(`FACERECON_STORE=local listening on ${c.HOST} needs FACERECON_PUBLIC_URL (the https address clients fetch assets from), or FACERECON_STORE=s3`);
  }
  return { ...c, publicUrl: c.FACERECON_PUBLIC_URL ?? `http://${c.HOST}:${c.PORT}` };
}
