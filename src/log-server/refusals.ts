import { SealedError } from "../bifrost/loglet.ts";
import { LogServerStatus, type LogServer as LogServerService } from "../net/gen/log_server_pb.ts";
import {
  FencedNodeError,
  LogServerClosedError,
  MalformedRequestError,
  NotWritableError,
  StaleSequencerError,
  UnknownLogletError,
} from "../net/log-server-errors.ts";
import type { CallContext } from "../net/rpc-call.ts";
import type { ServiceImpl } from "../net/server.ts";
import { CorruptionError, errorMessage } from "../types/errors.ts";

type Refusal = Exclude<LogServerStatus, LogServerStatus.OK>;

/** The status that answers a refusal; null for a failure that is none (the transport reports it as an internal error). */
export function refusalStatus(e: unknown): Refusal | null {
  if (e instanceof SealedError) return LogServerStatus.SEALED;
  if (e instanceof UnknownLogletError) return LogServerStatus.UNKNOWN_LOGLET;
  if (e instanceof StaleSequencerError) return LogServerStatus.STALE_SEQUENCER;
  if (e instanceof FencedNodeError) return LogServerStatus.NODE_FENCED;
  if (e instanceof NotWritableError) return e.provisioning ? LogServerStatus.PROVISIONING : LogServerStatus.NOT_WRITABLE;
  if (e instanceof MalformedRequestError) return LogServerStatus.MALFORMED_REQUEST;
  if (e instanceof LogServerClosedError) return LogServerStatus.SHUTTING_DOWN;
  if (e instanceof CorruptionError) return LogServerStatus.CORRUPTION;
  return null;
}

type Handler = (request: unknown, ctx: CallContext) => Promise<object>;

/** `impl` with every refusal its handlers throw answered as a status and message in the response instead. */
export function answeringRefusals(impl: ServiceImpl<typeof LogServerService>): ServiceImpl<typeof LogServerService> {
  const answering: Record<string, Handler> = {};
  for (const [name, handle] of Object.entries(impl as Record<string, Handler>)) {
    answering[name] = async (request, ctx) => {
      try {
        return await handle(request, ctx);
      } catch (e) {
        const status = refusalStatus(e);
        if (status === null) throw e;
        return { status, message: errorMessage(e) };
      }
    };
  }
  // Every response has the status and message fields (log-server-client.ts checks it against the schema).
  return answering as ServiceImpl<typeof LogServerService>;
}
