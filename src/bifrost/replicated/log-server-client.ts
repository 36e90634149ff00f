import { CorruptionError, type RepriseError } from "../../types/errors.ts";
import { createClient, type CallOptions, type Channel, type ServiceClient } from "../../net/client.ts";
import { LogServer, LogServerStatus } from "../../net/gen/log_server_pb.ts";
import {
  FencedNodeError,
  LogServerClosedError,
  MalformedRequestError,
  NotWritableError,
  StaleSequencerError,
  UnknownLogletError,
  UnknownLogServerStatusError,
} from "../../net/log-server-errors.ts";
import { SealedError } from "../loglet.ts";

/** A log server's methods; each resolves with an answered response and rejects with the typed error of a refusal. */
export type LogServerClient = ServiceClient<typeof LogServer>;

/** What every log-server response carries besides its result. */
interface Outcome {
  readonly status: LogServerStatus;
  readonly message: string;
}

type Call = (request: { readonly header?: { readonly logletId?: string } }, options?: CallOptions) => Promise<Outcome>;

export function logServerClient(channel: Channel): LogServerClient {
  // Typed without a cast: a response without status and message would not compile here.
  const calls: Record<keyof LogServerClient, Call> = createClient(LogServer, channel);
  const client = {} as Record<keyof LogServerClient, Call>;
  for (const name of Object.keys(calls) as Array<keyof LogServerClient>) {
    const call = calls[name];
    client[name] = async (request, options) => {
      const response = await call(request, options);
      if (response.status !== LogServerStatus.OK) throw refusalError(response.status, response.message, request.header?.logletId ?? "");
      return response;
    };
  }
  // Each method resolves with the response its raw call resolved with.
  return client as unknown as LogServerClient;
}

/** The typed error for a refusal of a request about `logletId`. A status added without a case here does not compile. */
export function refusalError(status: Exclude<LogServerStatus, LogServerStatus.OK>, message: string, logletId: string): RepriseError {
  switch (status) {
    case LogServerStatus.SEALED:
      return new SealedError(logletId);
    case LogServerStatus.UNKNOWN_LOGLET:
      return new UnknownLogletError(logletId);
    case LogServerStatus.STALE_SEQUENCER:
      return new StaleSequencerError(message);
    case LogServerStatus.NODE_FENCED:
      return new FencedNodeError(message);
    case LogServerStatus.PROVISIONING:
      return new NotWritableError(true, message);
    case LogServerStatus.NOT_WRITABLE:
      return new NotWritableError(false, message);
    case LogServerStatus.MALFORMED_REQUEST:
      return new MalformedRequestError(message);
    case LogServerStatus.SHUTTING_DOWN:
      return new LogServerClosedError();
    case LogServerStatus.CORRUPTION:
      return new CorruptionError(message);
    default: {
      // `never` to the compiler; at run time, a status only a newer peer knows.
      const unknown: never = status;
      return new UnknownLogServerStatusError(unknown, message);
    }
  }
}
