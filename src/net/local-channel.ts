import { answerBody, DEFAULT_CALL_TIMEOUT_MS, type CallOptions, type Channel } from "./client.ts";
import { watchDeadline } from "./call-deadline.ts";
import { PeerUnavailableError } from "./errors.ts";
import { CancellableCall } from "./rpc-call.ts";
import type { RpcServer } from "./server.ts";

/**
 * Calls from a node to itself, answered by its own `RpcServer` in this process. A worker's
 * sequencer stores on its node's log server and its followers read from it; over loopback HTTP/2
 * each of those calls cost a stream on both ends, its frames and two socket writes, several times
 * what the handler itself does. Callers see what a network call gives: the peer's answer, its
 * typed error, `RpcTimeoutError` after the timeout, `PeerUnavailableError` once the server is closed.
 */
export class LocalChannel implements Channel {
  private closed = false;

  constructor(
    private readonly server: RpcServer,
    /** Named in errors, as a network channel names its peer. */
    private readonly address: string,
  ) {}

  call(path: string, body: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const call = new CancellableCall(timeoutMs);
    const answered = this.closed ? null : this.server.callLocal(path, body, call);
    if (answered === null) return Promise.reject(new PeerUnavailableError(this.address, new Error("the node's RPC server is closed")));
    return new Promise<Uint8Array>((resolve, reject) => {
      const stopWatching = watchDeadline(this.address, path, timeoutMs, signal, (error) => {
        call.cancel();
        reject(error);
      });
      answered.then((answer) => {
        stopWatching();
        try {
          resolve(answerBody(answer, this.address, path));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  close(): void {
    this.closed = true;
  }
}
