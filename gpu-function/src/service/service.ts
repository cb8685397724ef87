/**
 * Assembles the service from its configuration: models (loaded and warmed, or the process does not
 * start), reconstructor, store, queue, metrics, logger, HTTP server, the local store's sweeper, and a
 * graceful stop that refuses new work, finishes what runs and then closes.
 */
import { serve, type ServerType } from '@hono/node-server';
import { hmacSha256Hex } from '@facerecon/shared';
import { createFaceLandmarker, type FaceLandmarker } from '../face/landmarker';
import { warmHeicDecoders } from '../adapters/image-io';
import { modelRuntimeHealth } from '../adapters/onnx';
import { ModelRegistry } from '../core/registry';
import { loadIctFaceModel, type IctFaceModel } from '../face-models/ict';
import { createMediaPipeFaceModel, type MediaPipeFaceModel } from '../face-models/mediapipe';
import { createApp } from './app';
import type { ServiceConfig } from './config';
import { createLogger, type Logger } from './logger';
import { createMetrics } from './metrics';
import { WorkQueue } from './queue';
import { LocalAssetStore } from './store/local';
import { S3AssetStore } from './store/s3';
import type { AssetStore } from './store/types';

export interface RunningService {
  url: string;
  port: number;
  store: AssetStore;
  logger: Logger;
  /** Refuse new work, wait for running and queued jobs, close the listener. */
  stop(): Promise<void>;
}

export interface ServiceParts {
  landmarker?: FaceLandmarker;
  /** The default face model (created here when absent). */
  face?: MediaPipeFaceModel;
  /** The full-head model; null: not installed (whatever the config says); absent: as the config says. */
  head?: IctFaceModel | null;
  store?: AssetStore;
  logger?: Logger;
}

export async function startService(config: ServiceConfig, parts: ServiceParts = {}): Promise<RunningService> {
  const logger = parts.logger ?? createLogger(config.FACERECON_LOG_LEVEL);
  const landmarker = parts.landmarker ?? (await createFaceLandmarker());
  // The decoder threads compile their wasm while the rest loads; one that cannot start fails start-up below.
  const heicReady = warmHeicDecoders().then(
    () => undefined,
    (err: unknown) => err as Error,
  );
  const face = parts.face ?? createMediaPipeFaceModel();
  const head = parts.head === undefined ? loadIctFaceModel(config.FACERECON_ICT_PACK, face) : (parts.head ?? undefined);
  const models = new ModelRegistry([face, head]);
  // Derived from the signing secret unless set; during a signing-secret rotation the previous secret's key
  // still verifies the links signed before it (paid results, up to FACERECON_ASSET_TTL_S old).
  const assetKey = (secret: string) => hmacSha256Hex(secret, 'facerecon asset urls');
  const assetSecret = config.FACERECON_ASSET_SECRET ?? (await assetKey(config.FACERECON_SIGNING_SECRET));
  const previousAssetSecrets = config.FACERECON_ASSET_SECRET === undefined && config.FACERECON_SIGNING_SECRET_PREVIOUS ? [await assetKey(config.FACERECON_SIGNING_SECRET_PREVIOUS)] : [];
  const store =
    parts.store ??
    (config.FACERECON_STORE === 's3'
      ? new S3AssetStore({
          bucket: config.S3_BUCKET!,
          region: config.S3_REGION,
          endpoint: config.S3_ENDPOINT,
          accessKeyId: config.S3_ACCESS_KEY_ID!,
          secretAccessKey: config.S3_SECRET_ACCESS_KEY!,
          forcePathStyle: config.S3_FORCE_PATH_STYLE === 'true',
        })
      : new LocalAssetStore({ dir: config.FACERECON_LOCAL_STORE_DIR, publicUrl: config.publicUrl, secret: assetSecret, previousSecrets: previousAssetSecrets }));
  await store.probe(); // fail fast on an unwritable store
  const heicFailed = await heicReady;
  if (heicFailed) throw new Error(`HEIC decoders: ${heicFailed.message}`);

  const metrics = createMetrics();
  const queue = new WorkQueue({
    concurrency: config.FACERECON_CONCURRENCY,
    maxQueue: config.FACERECON_QUEUE_MAX,
    onChange: ({ active, waiting }) => {
      metrics.queueDepth.set(waiting);
      metrics.inFlight.set(active);
    },
  });
  let draining = false;
  const app = createApp({
    landmarker,
    models,
    store,
    ttlSeconds: config.FACERECON_ASSET_TTL_S,
    queue,
    metrics,
    logger,
    signingSecrets: [config.FACERECON_SIGNING_SECRET, ...(config.FACERECON_SIGNING_SECRET_PREVIOUS ? [config.FACERECON_SIGNING_SECRET_PREVIOUS] : [])],
    deadlineMs: config.FACERECON_DEADLINE_MS,
    maxBodyBytes: config.FACERECON_MAX_BODY_BYTES,
    isDraining: () => draining,
    modelHealth: modelRuntimeHealth,
    metricsAccess: config.FACERECON_METRICS_TOKEN ? { token: config.FACERECON_METRICS_TOKEN } : config.NODE_ENV === 'production' ? 'closed' : 'open',
  });

  // A port that cannot be bound (taken, not permitted) fails the start with its error, not an
  // unhandled 'error' event.
  const server: ServerType = await new Promise((resolve, reject) => {
    // Node's own limits on reading a request (60 s for headers, 300 s for the whole, checked every 30 s)
    // are far longer than the edge ever takes: ours bound a connection that dribbles its bytes.
    const read = config.FACERECON_REQUEST_READ_TIMEOUT_MS;
    const serverOptions = { requestTimeout: read, headersTimeout: Math.min(10_000, read), connectionsCheckingInterval: Math.min(1_000, read) };
    const s = serve({ fetch: app.fetch, hostname: config.HOST, port: config.PORT, serverOptions }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  // With an ephemeral port (tests, benches) the port is only known now; signed URLs must carry it.
  if (store instanceof LocalAssetStore && config.FACERECON_PUBLIC_URL === undefined) store.setPublicUrl(`http://${config.HOST}:${port}`);
  const sweep = () =>
    (store as LocalAssetStore).sweep(config.FACERECON_ASSET_TTL_S).then(
      (n) => n && logger.info({ deleted: n }, 'swept expired assets'),
      (err) => logger.warn({ err: (err as Error).message }, 'sweep failed'),
    );
  // Once at start-up too: files that expired while the service was stopped (a persistent store folder)
  // must not wait another interval.
  if (store instanceof LocalAssetStore) void sweep();
  const sweeper = store instanceof LocalAssetStore ? setInterval(sweep, config.FACERECON_SWEEP_INTERVAL_S * 1000) : undefined;
  sweeper?.unref();
  logger.info({ port, provider: landmarker.provider, providers: modelRuntimeHealth().providers, store: store.kind, concurrency: config.FACERECON_CONCURRENCY, models: models.names() }, 'gpu-function ready');

  return {
    url: `http://${config.HOST}:${port}`,
    port,
    store,
    logger,
    async stop() {
      draining = true;
      if (sweeper) clearInterval(sweeper);
      // Cloud Run kills the container 10 s after SIGTERM: the waiting are refused now (OVERLOADED, which
      // the edge retries elsewhere), the running get FACERECON_SHUTDOWN_GRACE_MS and are then aborted the
      // same way, and the listener closes within about a second after, so every caller gets an answer
      // rather than a reset, and aborted work deletes what it wrote.
      const drained = await queue.shutdown({ graceMs: config.FACERECON_SHUTDOWN_GRACE_MS });
      if (!drained) logger.warn('stopping with work still running after its abort (a store that stopped answering)');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      (server as ServerType & { closeIdleConnections?: () => void }).closeIdleConnections?.();
      const forced = setTimeout(() => (server as ServerType & { closeAllConnections?: () => void }).closeAllConnections?.(), 500);
      await closed;
      clearTimeout(forced);
      if (!parts.landmarker) await landmarker.close();
      if (store instanceof S3AssetStore && !parts.store) store.destroy();
      logger.info('gpu-function stopped');
    },
  };
}
