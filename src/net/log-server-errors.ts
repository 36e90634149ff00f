import { RepriseError, UnavailableError } from "../types/errors.ts";
import { formatNodeId, type GenerationalNodeId } from "../types/ids.ts";
import type { StorageState } from "../metadata/documents.ts";

// The log server's refusals. They cross the wire as a LogServerStatus and its message (see
// proto/reprise/log_server.proto), so the classes a client rebuilds take the message as sent.

/** No replicated segment in `Logs` has this loglet id with this server in its nodeset. */
export class UnknownLogletError extends RepriseError {
  constructor(logletId: string) {
    super("unknown_loglet", `loglet ${logletId} is not a replicated loglet of this log server`, false, 404);
  }
}

/** A store from a node that is not the loglet's sequencer (the first store fixed it). */
export class StaleSequencerError extends RepriseError {
  static refusing(logletId: string, sender: GenerationalNodeId, sequencer: GenerationalNodeId): StaleSequencerError {
    return new StaleSequencerError(`loglet ${logletId}: store from ${formatNodeId(sender)} refused, its sequencer is ${formatNodeId(sequencer)}`);
  }

  constructor(message: string) {
    super("stale_sequencer", message, false, 409);
  }
}

/** The caller runs with a generation that a newer process of the same node superseded. */
export class FencedNodeError extends RepriseError {
  static superseded(node: GenerationalNodeId, current: number): FencedNodeError {
    return new FencedNodeError(`node ${formatNodeId(node)} is fenced: generation ${current} superseded it`);
  }

  constructor(message: string) {
    super("node_fenced", message, false, 409);
  }
}

/** The data directory was provisioned by a different node. */
export class DataDirOwnershipError extends RepriseError {
  constructor(dir: string, owner: number, me: number) {
    super("data_dir_foreign", `data directory ${dir} belongs to node N${owner}, not N${me}`, false, 500);
  }
}

/** The log server does not take writes in its current storage state; retryable only while provisioning. */
export class NotWritableError extends RepriseError {
  static inState(state: StorageState): NotWritableError {
    return new NotWritableError(state === "provisioning", `log server is ${state}; stores are refused`);
  }

  constructor(
    readonly provisioning: boolean,
    message: string,
  ) {
    super(provisioning ? "log_server_provisioning" : "log_server_not_writable", message, provisioning, 503);
  }
}

/** A request that no correct client sends (empty store, offset out of range, missing header). */
export class MalformedRequestError extends RepriseError {
  constructor(message: string) {
    super("malformed_request", message, false, 400);
  }
}

export class LogServerClosedError extends UnavailableError {
  constructor() {
    super("log server is shutting down", "log_server_closed");
  }
}

/** A log server answered with a status this process does not know (a newer peer): nothing says retrying helps. */
export class UnknownLogServerStatusError extends RepriseError {
  constructor(status: number, message: string) {
    super("unknown_log_server_status", `log server answered unknown status ${status}: ${message}`, false, 502);
  }
}
