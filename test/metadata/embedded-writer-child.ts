/** Child of the embedded-store crash test: increments a counter forever, printing `{"event":"ack","version":n}` per acknowledged put. */
import { EmbeddedMetadataStore } from "../../src/metadata/embedded-store.ts";
import { readModifyWrite } from "../../src/metadata/read-modify-write.ts";

const store = new EmbeddedMetadataStore(process.argv[2]);
const codec = { encode: (n: number) => Buffer.from(String(n)), decode: (b: Uint8Array) => Number(Buffer.from(b).toString()) };
for (;;) {
  const { version } = await readModifyWrite(store, "counter", codec, (n) => (n ?? 0) + 1);
  process.stdout.write(`${JSON.stringify({ event: "ack", version })}\n`);
}
