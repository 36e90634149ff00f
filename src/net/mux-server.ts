import { constants, type ServerHttp2Stream } from "node:http2";
import type { Logger } from "../common/logger.ts";
import { errorMessage } from "../types/errors.ts";
import { answerFrame, CONTENT_TYPE_MUX, FrameKind, FrameReader, MAX_CALL_OVERHEAD_BYTES, MuxProtocolError, type MuxFrame } from "./mux-frames.ts";
import { CONTENT_TYPE_ERROR, CancellableCall, DEFAULT_HANDLER_TIMEOUT_MS, type RpcAnswer } from "./rpc-call.ts";

/** Answers one call; never rejects (a failure is an error answer). */
export type AnswerCall = (path: string, body: Uint8Array, call: CancellableCall) => Promise<RpcAnswer>;

/**
 * Serves a peer's call stream (see mux-client.ts): each CALL frame is answered by `answer` with
 * an ANSWER frame of the same id, in whatever order the handlers finish; a CANCEL frame, or the
 * stream closing, aborts the handlers still running. Bytes that are not frames reset the stream.
 */
export function serveMuxStream(stream: ServerHttp2Stream, answer: AnswerCall, maxMessageBytes: number, tooLarge: (path: string) => RpcAnswer, log: Logger): void {
  const running = new Map<number, CancellableCall>();
  const reader = new FrameReader(maxMessageBytes + MAX_CALL_OVERHEAD_BYTES);
  const onFrame = (frame: MuxFrame): void => {
    switch (frame.kind) {
      case FrameKind.Call: {
        if (frame.body.length > maxMessageBytes) return send(frame.id, tooLarge(frame.path));
        const call = new CancellableCall(frame.timeoutMs || DEFAULT_HANDLER_TIMEOUT_MS);
        running.set(frame.id, call);
        void answer(frame.path, frame.body, call).then((a) => {
          // Cancelled meanwhile: the caller no longer waits for it.
          if (running.get(frame.id) === call) {
            running.delete(frame.id);
            send(frame.id, a);
          }
        });
        return;
      }
      case FrameKind.Cancel:
        running.get(frame.id)?.cancel();
        running.delete(frame.id);
        return;
      default:
        throw new MuxProtocolError(`a caller sent a frame of kind ${frame.kind} on a call stream`);
    }
  };
  const send = (id: number, a: RpcAnswer): void => {
    if (stream.destroyed || stream.closed) return;
    for (const b of answerFrame(id, a.status, a.contentType === CONTENT_TYPE_ERROR, a.body)) stream.write(b);
  };
  stream.respond({ ":status": 200, "content-type": CONTENT_TYPE_MUX });
  stream.on("data", (chunk: Buffer) => {
    try {
      reader.push(chunk, onFrame);
    } catch (e) {
      log.warn({ err: errorMessage(e) }, "resetting a call stream that carried bytes which are not frames");
      stream.close(constants.NGHTTP2_PROTOCOL_ERROR);
    }
  });
  stream.on("close", () => {
    for (const call of running.values()) call.cancel();
    running.clear();
  });
  // Errors on a stream the peer reset have no one to report to; its close aborts the handlers.
  stream.on("error", (e) => log.debug({ err: errorMessage(e) }, "call stream error"));
}
