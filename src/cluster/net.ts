import { createServer, type AddressInfo } from "node:net";

/**
 * A port that was free a moment ago (bind to 0, read it, release it). For addresses that are
 * published before their server binds, e.g. in `NodesConfiguration` when a node joins.
 */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
