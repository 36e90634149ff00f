import { registerWireError } from "./errors.ts";
import { CorruptionError, RepriseError, UnavailableError } from "../types/errors.ts";
import { formatNodeId, type GenerationalNodeId } from "../types/ids.ts";

/** No replicated segment in `Logs` has this loglet id with this server in its nodeset. */
export class UnknownLogletError extends RepriseError {
  constructor(logletId: string) {
    super("unknown_loglet", `loglet ${logletId} is not a replicated loglet of this log server`, false, 404);
  }
}

/** A store from a node that is not the loglet's sequencer (the first store fixed it). */
export class StaleSequencerError extends RepriseError {
  constructor(logletId: string, sender: GenerationalNodeId, sequencer: GenerationalNodeId) {
    super(
      "stale_sequencer",
      `loglet ${logletId}: store from ${formatNodeId(sender)} refused, its sequencer is ${formatNodeId(sequencer)}`,
      false,
      409,
    );
  }
}

/** The caller runs with a generation that a newer process of the same node superseded. */
export class FencedNodeError extends RepriseError {
  constructor(node: GenerationalNodeId, current: number) {
    super("node_fenced", `node ${formatNodeId(node)} is fenced: generation ${current} superseded it`, false, 409);
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
  constructor(state: string) {
    const provisioning = state === "provisioning";
    super(provisioning ? "log_server_provisioning" : "log_server_not_writable", `log server is ${state}; stores are refused`, provisioning, 503);
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

registerWireError("corruption", CorruptionError);
registerWireError("unknown_loglet", UnknownLogletError);
registerWireError("stale_sequencer", StaleSequencerError);
registerWireError("node_fenced", FencedNodeError);
registerWireError("log_server_provisioning", NotWritableError);
registerWireError("log_server_not_writable", NotWritableError);
registerWireError("malformed_request", MalformedRequestError);
registerWireError("log_server_closed", LogServerClosedError);
