import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Binds `server` and resolves with the bound port (useful when `port` is 0). */
export async function listenOn(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** Stops accepting and drops open (keep-alive) connections so shutdown never waits on idle clients. */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}
