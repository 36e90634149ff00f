import { constants, type ClientHttp2Session, type ClientHttp2Stream } from "node:http2";
import { watchDeadline } from "./call-deadline.ts";
import { PeerUnavailableError } from "./errors.ts";
import { callFrame, cancelFrame, CONTENT_TYPE_MUX, FrameKind, FrameReader, MAX_ANSWER_OVERHEAD_BYTES, MUX_PATH, MuxProtocolError, type MuxFrame } from "./mux-frames.ts";
import { CONTENT_TYPE_ERROR, CONTENT_TYPE_PROTO, DEFAULT_MAX_MESSAGE_BYTES, type RpcAnswer } from "./rpc-call.ts";

interface PendingCall {
  readonly resolve: (answer: RpcAnswer) => void;
  readonly reject: (e: Error) => void;
  /** Stops its deadline and abort watch (`watchDeadline`). */
  readonly stopWatching: () => void;
}

/**
 * Unary calls to one peer as frames on one HTTP/2 stream of a session, instead of a stream per
 * call: under replication a worker makes several calls per log record (stores, reads, forwards),
 * and a stream's setup and teardown on both ends (headers, stream objects, their events and
 * async resources) cost several times what most handlers do. Answers come back in any order,
 * matched by call id. When the stream breaks, every call on it fails as unavailable, as calls on
 * a broken connection do; the channel opens a new stream for the next call.
 */
export class MuxCalls {
  private readonly stream: ClientHttp2Stream;
  private readonly pending = new Map<number, PendingCall>();
  private readonly reader = new FrameReader(DEFAULT_MAX_MESSAGE_BYTES + MAX_ANSWER_OVERHEAD_BYTES);
  private nextId = 1;
  private brokenBy: Error | null = null;

  constructor(
    readonly session: ClientHttp2Session,
    private readonly address: string,
  ) {
    this.stream = session.request({ ":method": "POST", ":path": MUX_PATH, "content-type": CONTENT_TYPE_MUX });
    this.stream.on("response", (headers) => {
      const status = Number(headers[":status"]);
      if (status !== 200) this.break(new Error(`peer refused the call stream (HTTP ${status})`));
    });
    this.stream.on("data", (chunk: Buffer) => {
      try {
        this.reader.push(chunk, (frame) => this.answered(frame));
      } catch (e) {
        this.break(e as Error);
      }
    });
    this.stream.on("error", (e) => this.break(e));
    this.stream.on("end", () => this.break(new Error("peer ended the call stream")));
    this.stream.on("close", () => this.break(new Error(`call stream closed (code ${this.stream.rstCode})`)));
  }

  /** False once the stream broke: the channel then opens another. */
  get usable(): boolean {
    return this.brokenBy === null;
  }

  /** The peer's answer, or PeerUnavailableError / RpcTimeoutError / the signal's reason. */
  call(path: string, body: Uint8Array, timeoutMs: number, signal: AbortSignal | undefined): Promise<RpcAnswer> {
    if (this.brokenBy !== null) return Promise.reject(new PeerUnavailableError(this.address, this.brokenBy));
    const id = this.nextId;
    this.nextId = this.nextId === 0xffffffff ? 1 : this.nextId + 1;
    return new Promise<RpcAnswer>((resolve, reject) => {
      const stopWatching = watchDeadline(this.address, path, timeoutMs, signal, (error) => this.giveUp(id, error));
      this.pending.set(id, { resolve, reject, stopWatching });
      for (const b of callFrame(id, timeoutMs, path, body)) this.stream.write(b);
    });
  }

  /** Fails every call still waiting and resets the stream. */
  close(): void {
    this.break(new Error("channel closed"));
  }

  private answered(frame: MuxFrame): void {
    if (frame.kind !== FrameKind.Answer) throw new MuxProtocolError(`a peer sent a frame of kind ${frame.kind} on a call stream`);
    const p = this.settle(frame.id);
    // An answer to a call given up on (timed out, aborted) is dropped.
    p?.resolve({ status: frame.status, contentType: frame.isError ? CONTENT_TYPE_ERROR : CONTENT_TYPE_PROTO, body: frame.body });
  }

  private giveUp(id: number, error: Error): void {
    const p = this.settle(id);
    if (p === undefined) return;
    // The handler stops (a long poll answers no one); the stream stays up for the other calls.
    if (this.brokenBy === null) this.stream.write(cancelFrame(id));
    p.reject(error);
  }

  private settle(id: number): PendingCall | undefined {
    const p = this.pending.get(id);
    if (p === undefined) return undefined;
    this.pending.delete(id);
    p.stopWatching();
    return p;
  }

  private break(cause: Error): void {
    if (this.brokenBy !== null) return;
    this.brokenBy = cause;
    if (!this.stream.closed) this.stream.close(constants.NGHTTP2_CANCEL);
    const error = new PeerUnavailableError(this.address, cause);
    for (const id of [...this.pending.keys()]) this.settle(id)!.reject(error);
  }
}
