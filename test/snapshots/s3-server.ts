import S3rver from "s3rver";
import { S3ObjectStore, type S3Settings } from "../../src/snapshots/s3-object-store.ts";
import { tempDir } from "../support/temp.ts";

/** A real S3-protocol server (s3rver) on loopback with one bucket, and the settings that reach it. */
export interface S3Server {
  readonly bucket: string;
  readonly endpoint: string;
  readonly settings: S3Settings;
  /** An object store on the bucket under `prefix`. */
  store(prefix: string): S3ObjectStore;
  stop(): Promise<void>;
}

export async function startS3Server(bucket = "snapshots", port = 0): Promise<S3Server> {
  const dir = tempDir("reprise-s3rver-");
  const server = new S3rver({ port, address: "127.0.0.1", silent: true, directory: dir.path, configureBuckets: [{ name: bucket, configs: [] }] });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  // s3rver's fixed credentials.
  const settings: S3Settings = { region: "us-east-1", endpointUrl: endpoint, accessKeyId: "S3RVER", secretAccessKey: "S3RVER", forcePathStyle: true };
  return {
    bucket,
    endpoint,
    settings,
    store: (prefix) => new S3ObjectStore(bucket, prefix, settings),
    async stop() {
      await server.close();
      dir.remove();
    },
  };
}
