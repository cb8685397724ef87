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
}

export class S3AssetStore implements AssetStore {
  readonly kind = 's3' as const;
  private readonly client: S3Client;

  constructor(private readonly opts: S3StoreOptions) {
    this.client = new S3Client({
      region: opts.region,
      endpoint: opts.endpoint,
      forcePathStyle: opts.forcePathStyle,
      credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey },
    });
  }

  async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
    assertSafeKey(key);
    await this.client.send(new PutObjectCommand({ Bucket: this.opts.bucket, Key: key, Body: body, ContentType: contentType }));
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
      await this.client.send(new DeleteObjectsCommand({ Bucket: this.opts.bucket, Delete: { Objects, Quiet: true } }));
    }
  }

  async claimOnce(key: string): Promise<boolean> {
    assertSafeKey(key);
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.opts.bucket, Key: `ledger/${key}`, Body: '', IfNoneMatch: '*' }));
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
  }
}
