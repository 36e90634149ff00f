/**
 * A message body from the chunks its stream delivered. Most RPC bodies arrive in one chunk, which
 * is handed on as it is: `Buffer.concat` copies even a single one, and a body's byte fields
 * (record payloads) decode as views into it.
 */
export function joinChunks(chunks: readonly Buffer[]): Buffer {
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}
