/**
 * Child process for the kill -9 test: appends from several concurrent writers until killed and
 * prints `<offset> <seq>` for every acknowledged record. Usage: append-child.ts <dir> <firstSeq>
 */
import { LocalLoglet } from "../../src/bifrost/local/local-loglet.ts";
import { payloadFor } from "./helpers.ts";

const [dir, firstSeq] = process.argv.slice(2);
const loglet = await LocalLoglet.open("kill-test", dir, { rollBytes: 256 << 10 });
let seq = Number(firstSeq);

async function writer(): Promise<never> {
  for (;;) {
    const s = seq++;
    const offset = await loglet.append([payloadFor(s)]);
    // Pipes are written synchronously on Linux: a printed line is an ack the parent can hold us to.
    process.stdout.write(`${offset} ${s}\n`);
  }
}

await Promise.all(Array.from({ length: 16 }, writer));
