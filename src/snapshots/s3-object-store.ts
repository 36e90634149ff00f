import { createReadStream, createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { SnapshotRepositoryUnavailableError } from "./errors.ts";
import type { ObjectStore } from "./object-store.ts";

/** How to reach an S3-compatible service; empty strings leave the SDK's own resolution (environment, profiles). */
export interface S3Settings {
  readonly region: string;
  /** e.g. `http://127.0.0.1:9000` for MinIO; empty for AWS. */
  readonly endpointUrl: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** `http://endpoint/bucket/key` instead of `http://bucket.endpoint/key`, as most self-hosted stores need. */
  readonly forcePathStyle: boolean;
}

/** Objects in an S3 bucket under a key prefix (`s3://bucket/prefix`). A PUT is atomic: readers see the old object or the whole new one. */
export class S3ObjectStore implements ObjectStore {
  readonly url: string;
  private readonly client: S3Client;
  private readonly prefix: string;

  constructor(
    private readonly bucket: string,
    prefix: string,
    settings: S3Settings,
  ) {
    this.prefix = prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
    this.url = `s3://${bucket}/${this.prefix}`;
    this.client = new S3Client({
      ...(settings.region !== "" ? { region: settings.region } : {}),
      ...(settings.endpointUrl !== "" ? { endpoint: settings.endpointUrl } : {}),
      ...(settings.accessKeyId !== "" ? { credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } } : {}),
      forcePathStyle: settings.forcePathStyle,
      // Snapshots carry their own SHA-256; the SDK's newer default checksums are not understood by every S3-compatible store.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      maxAttempts: 3,
    });
  }

  putFile(key: string, path: string): Promise<void> {
    return this.run("put", key, async () => {
      const { size } = await stat(path);
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Body: createReadStream(path), ContentLength: size }));
    });
  }

  putBytes(key: string, bytes: Uint8Array): Promise<void> {
    return this.run("put", key, async () => {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Body: bytes, ContentLength: bytes.length }));
    });
  }

  getBytes(key: string): Promise<Uint8Array | null> {
    return this.run("get", key, async () => {
      const body = await this.body(key);
      return body === null ? null : body.transformToByteArray();
    });
  }

  getFile(key: string, path: string): Promise<boolean> {
    return this.run("get", key, async () => {
      const body = await this.body(key);
      if (body === null) return false;
      await pipeline(body as unknown as Readable, createWriteStream(path));
      return true;
    });
  }

  list(prefix: string): Promise<string[]> {
    return this.run("list", prefix, async () => {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key.slice(this.prefix.length));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return keys;
    });
  }

  delete(key: string): Promise<void> {
    return this.run("delete", key, async () => {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
    });
  }

  close(): void {
    this.client.destroy();
  }

  private async body(key: string) {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return res.Body ?? null;
    } catch (e) {
      if (e instanceof NoSuchKey || (e instanceof S3ServiceException && e.$metadata.httpStatusCode === 404)) return null;
      throw e;
    }
  }

  private async run<T>(operation: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw new SnapshotRepositoryUnavailableError(this.url, `${operation} ${key}`, e);
    }
  }
}
