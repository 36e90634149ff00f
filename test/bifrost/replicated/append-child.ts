/**
 * A writer process for the multi-process tests: the sequencer of a replicated log. Appends
 * `w<seq>` records with some concurrency and prints one `{"event":"ack","seq","lsn"}` line per
 * acknowledged append, so the test knows exactly what was acknowledged when it kills this process.
 *
 *   append-child.ts <metadata-address> <node-id> <generation> <log-id> <concurrency> <max-appends>
 */
import { BifrostImpl } from "../../../src/bifrost/bifrost-impl.ts";
import { ReplicatedLogletProvider } from "../../../src/bifrost/replicated/provider.ts";
import { rootLogger } from "../../../src/common/logger.ts";
import { NodeDirectory } from "../../../src/net/node-directory.ts";
import { RemoteMetadataStore } from "../../../src/net/metadata-service.ts";
import { LogId, PlainNodeId } from "../../../src/types/ids.ts";

const [address, nodeId, generation, logId, concurrency, maxAppends] = process.argv.slice(2);
const metadata = new RemoteMetadataStore(address, rootLogger);
const directory = await NodeDirectory.open(metadata, rootLogger);
const me = { id: PlainNodeId(Number(nodeId)), generation: Number(generation) };
const bifrost = new BifrostImpl(metadata, [new ReplicatedLogletProvider({ me, connections: directory.connections })]);

let next = 0;
const emit = (e: Record<string, unknown>): void => void process.stdout.write(JSON.stringify(e) + "\n");
async function worker(): Promise<void> {
  while (next < Number(maxAppends)) {
    const seq = next++;
    const lsn = await bifrost.append(LogId(Number(logId)), [Buffer.from(`w${seq}`)]);
    emit({ event: "ack", seq, lsn });
  }
}
emit({ event: "started" });
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
emit({ event: "done" });
await bifrost.close();
directory.close();
await metadata.close();
