import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";
import { Decompress } from "fzstd";

/**
 * zstd for request bodies: restatectl (tonic) compresses every request with zstd. Answers go out
 * uncompressed: the gRPC route sets `compressMinBytes` beyond any message size, so `compress`
 * never runs (fzstd only decodes); a client that gets `grpc-encoding: zstd` back still reads the
 * per-message flag, which says uncompressed.
 */
export const zstdRequestBodies: Compression = {
  name: "zstd",
  compress: () => Promise.reject(new ConnectError("zstd-compressed answers are not supported", Code.Internal)),
  decompress: (bytes, readMaxBytes) => Promise.resolve(decompressBounded(bytes, readMaxBytes)),
};

/** Stops as soon as the output passes `readMaxBytes`, so a small request cannot inflate without bound. */
function decompressBounded(bytes: Uint8Array, readMaxBytes: number): Uint8Array<ArrayBuffer> {
  if (bytes.byteLength === 0) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let size = 0;
  const decoder = new Decompress((chunk) => {
    size += chunk.byteLength;
    if (size > readMaxBytes) {
      throw new ConnectError(`message is larger than configured readMaxBytes ${readMaxBytes} after decompression`, Code.ResourceExhausted);
    }
    parts.push(chunk);
  });
  try {
    decoder.push(bytes, true);
  } catch (e) {
    if (e instanceof ConnectError) throw e;
    throw new ConnectError(`invalid zstd data: ${e instanceof Error ? e.message : String(e)}`, Code.InvalidArgument);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
