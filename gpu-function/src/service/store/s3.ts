/**
 * S3-compatible store (Cloudflare R2, AWS S3, GCS interoperability) with presigned GET URLs. Object
 * expiry is the bucket's lifecycle rule (infra/storage/); presigned URLs expire on their own.
 */
import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand, S3Client, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { assertSafeKey, type AssetStore } from './types';

export interface S3StoreOptions {
  bucket: string;
  region: string;
  endpoint?: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle?: boolean;
  /**
   * Milliseconds to connect, and for one request and its response. Without them a store that accepts
   * the connection and never answers held the request's work slot for good (the caller's deadline
   * answers it, but cannot free the slot) and shutdown never drained.
   */
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** A clean-up's deletes, all attempts together (default DELETE_TIMEOUT_MS). */
  deleteTimeoutMs?: number;
  /**
   * Also send GCS's own create-only precondition (`x-goog-if-generation-match: 0`) with the nonce
   * claim. GCS documents that header for its XML API, not S3's `If-None-Match: *`; a bucket that
   * ignored the latter would let a captured request be replayed. Default: when the endpoint is
   * storage.googleapis.com.
   */
  gcsPreconditions?: boolean;
}

/** Whether an S3 endpoint is Google Cloud Storage's XML (interoperability) API. */
export function isGcsEndpoint(endpoint: string | undefined): boolean {
  if (!endpoint) return false;
  try {
    const host = new URL(endpoint).hostname.toLowerCase();
    return host === 'storage.googleapis.com' || host.endsWith('.storage.googleapis.com');
  } catch {
    return false;
  }
}

/** Connect within 3 s; a request within 20 s (a 1024 texture set is a few MB). The SDK retries twice more. */
const CONNECT_TIMEOUT_MS = 3_000;
const REQUEST_TIMEOUT_MS = 20_000;
const CLAIM_TIMEOUT_MS = 10_000;
/**
 * A clean-up's deletes, all attempts together. Unbounded, the SDK's 3 x 20 s held a failed request's
 * work slot for a minute after its deadline when the bucket stopped answering, and ran an erase past
 * Cloud Run's request timeout; the bucket's lifecycle rule removes what a failed delete leaves.
 */
const DELETE_TIMEOUT_MS = 5_000;

export class S3AssetStore implements AssetStore {
  readonly kind = 's3' as const;
  private readonly client: S3Client;
  /**
   * The nonce claims' client: one attempt. A create-only PUT retried after its first attempt landed
   * and lost its reply finds its own object (412) and would call a fresh request a replay (401, no
   * retry at the edge); a failure is STORAGE_UNAVAILABLE instead, which the edge retries with a new nonce.
   */
  private readonly claims: S3Client;

  constructor(private readonly opts: S3StoreOptions) {
    const config = {
      region: opts.region,
      endpoint: opts.endpoint,
      forcePathStyle: opts.forcePathStyle,
      credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey },
      requestHandler: { connectionTimeout: opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS, requestTimeout: opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
    };
    this.client = new S3Client(config);
    this.claims = new S3Client({ ...config, maxAttempts: 1 });
  }

  async put(key: string, body: Uint8Array, contentType: string, signal?: AbortSignal): Promise<void> {
    assertSafeKey(key);
    // A download gets its file name (face.obj, not the signed URL's last segment with its query), as the
    // local store serves it: browsers ignore <a download> across origins, and curl -OJ reads this.
    const ContentDisposition = `attachment; filename="${key.slice(key.lastIndexOf('/') + 1)}"`;
    await this.client.send(new PutObjectCommand({ Bucket: this.opts.bucket, Key: key, Body: body, ContentType: contentType, ContentDisposition }), { abortSignal: signal });
  }

  signedUrl(key: string, ttlSeconds: number): Promise<string> {
    assertSafeKey(key);
    // SigV4 presigned URLs are valid for at most 7 days.
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.opts.bucket, Key: key }), { expiresIn: Math.min(ttlSeconds, 604_800) });
  }

  async deleteKeys(keys: readonly string[]): Promise<void> {
    for (const k of keys) assertSafeKey(k);
    for (let i = 0; i < keys.length; i += 1000) {
      const Objects = keys.slice(i, i + 1000).map((Key) => ({ Key }));
      // Quiet mode answers 200 and lists only the keys it could not delete: those are a failure here.
      const res = await this.client.send(new DeleteObjectsCommand({ Bucket: this.opts.bucket, Delete: { Objects, Quiet: true } }), { abortSignal: AbortSignal.timeout(this.opts.deleteTimeoutMs ?? DELETE_TIMEOUT_MS) });
      if (res.Errors?.length) throw new Error(`${res.Errors.length} of ${Objects.length} objects not deleted (${res.Errors[0].Code ?? 'error'}: ${res.Errors[0].Key ?? ''})`);
    }
  }

  async claimOnce(key: string): Promise<boolean> {
    assertSafeKey(key);
    try {
      // Bounded: the claim sits before the work queue, on every signed request's path.
      const claim = new PutObjectCommand({ Bucket: this.opts.bucket, Key: `ledger/${key}`, Body: '', IfNoneMatch: '*' });
      if (this.opts.gcsPreconditions ?? isGcsEndpoint(this.opts.endpoint)) {
        // Added before signing (the build step), so the header is part of the SigV4 signature.
        claim.middlewareStack.add(
          (next) => async (args) => {
            (args.request as { headers: Record<string, string> }).headers['x-goog-if-generation-match'] = '0';
            return next(args);
          },
          { step: 'build', name: 'gcsCreateOnly' },
        );
      }
      await this.claims.send(claim, { abortSignal: AbortSignal.timeout(CLAIM_TIMEOUT_MS) });
      return true;
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      // 412: the object exists; 409: a concurrent create of the same key won (S3's ConditionalRequestConflict).
      if (e.$metadata?.httpStatusCode === 412 || e.$metadata?.httpStatusCode === 409 || e.name === 'PreconditionFailed') return false;
      throw err;
    }
  }

  async probe(): Promise<void> {
    const key = `probe/${process.pid}-${Date.now()}`;
    await this.client.send(new PutObjectCommand({ Bucket: this.opts.bucket, Key: key, Body: 'ok' }));
    await this.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: key }));
  }

  destroy(): void {
    this.client.destroy();
    this.claims.destroy();
  }
}
