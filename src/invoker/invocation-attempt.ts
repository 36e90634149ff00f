import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import * as pb from "../protocol/gen/dev/restate/service/protocol_pb.ts";
import { encodeFrame, FrameDecoder, type Frame } from "../protocol/frame.ts";
import { MessageType, isCommandType, isCustomType } from "../protocol/message-type.ts";
import type { LeaderHandle } from "../partition/processor.ts";
import type { AwaitingOn, InvocationStatus, JournalEntry, PinnedDeployment } from "../types/invocation.ts";
import type { AttemptCommand, CalleeAssignment, Command } from "../partition/records.ts";
import type { RequestIdentity } from "../protocol/request-identity.ts";
import type { DeploymentSchema } from "../schema/schema.ts";
import { invocationIdToBytes, type Lsn } from "../types/ids.ts";
import { errorMessage } from "../types/errors.ts";
import type { DeploymentClient, Exchange } from "./deployment-client.ts";
import type { CalleeRequest } from "./callee.ts";
import type { AttemptFailureReport } from "./retry-policy.ts";

/** How an attempt ended, as far as the invoker's retry loop is concerned. */
export type AttemptOutcome =
  | { readonly kind: "ended" }
  | { readonly kind: "suspended" }
  | { readonly kind: "aborted" }
  | ({ readonly kind: "failed"; readonly madeProgress: boolean } & AttemptFailureReport);

export interface AttemptSnapshot {
  readonly status: InvocationStatus;
  readonly journal: readonly JournalEntry[];
  /** Eager state for keyed targets: all of it, or (`partialState`) what fits; null sends none. */
  readonly state: ReadonlyMap<string, Uint8Array> | null;
  /** The SDK must read keys missing from `state` from the runtime (GetLazyState) rather than take them as unset. */
  readonly partialState: boolean;
}

export interface AttemptOptions {
  readonly leader: LeaderHandle;
  readonly snapshot: AttemptSnapshot;
  readonly deployment: DeploymentSchema;
  /** The service protocol version to speak: the pinned one, or the deployment's for a first attempt. */
  readonly protocolVersion: number;
  /** The invocation is not pinned yet: its first journaled command pins it to `deployment`. */
  readonly pin: boolean;
  readonly client: DeploymentClient;
  /** Signs the request (Restate's request identity). */
  readonly identity?: RequestIdentity;
  readonly resolveCallee: (call: CalleeRequest) => CalleeAssignment;
  /** W3C trace context of the attempt's span: the SDK's spans join the invocation's trace through it. */
  readonly traceparent?: string;
  readonly inactivityTimeoutMs: number;
  readonly abortTimeoutMs: number;
  /** Failed attempts since one last journaled something; the SDK sees it in the StartMessage. */
  readonly retryCountSinceLastStoredEntry: number;
  readonly logger: Logger;
}

/**
 * One request to a deployment (an HTTP/2 stream or an HTTP/1.1 exchange): replays the journal,
 * turns every message the SDK sends into a proposed log record (in order), and forwards
 * notifications the partition applies meanwhile (bidirectional deployments only).
 */
export class InvocationAttempt {
  private stream: Exchange | null = null;
  private readonly decoder = new FrameDecoder();
  private commandCount: number;
  /**
   * Not yet proposed. It rides on this attempt's first journal-command, which saves a record per
   * invocation; only an attempt whose first proposal is something else, or that fails before it
   * proposes anything, sends it as a record of its own, so every later attempt stays on it.
   */
  private pin: PinnedDeployment | undefined;
  private lastProposal: Promise<Lsn | void> = Promise.resolve();
  /** What the messages of the read being handled propose; sent as one record once all are handled (`onData`). */
  private steps: AttemptCommand[] | null = null;
  private readonly requestedAck = new Set<number>();
  private finished = false;
  private madeProgress = false;
  private inactivity: NodeJS.Timeout | null = null;
  private httpStatus = 0;
  private serverHeader: string | undefined;
  private errorBody = "";
  private resolveOutcome!: (o: AttemptOutcome) => void;
  readonly outcome: Promise<AttemptOutcome>;

  constructor(private readonly o: AttemptOptions) {
    this.commandCount = o.snapshot.status.commandCount;
    this.pin = o.pin ? { deploymentId: o.deployment.id, protocolVersion: o.protocolVersion } : undefined;
    this.outcome = new Promise((r) => (this.resolveOutcome = r));
  }

  /** What the deployment said it runs (`x-restate-server`), once it answered. */
  get server(): string | undefined {
    return this.serverHeader;
  }

  /** Every record this attempt proposed is durable and applied once this resolves. */
  async settled(): Promise<void> {
    const lsn = await this.lastProposal.catch(() => undefined);
    if (typeof lsn === "number") await this.o.leader.whenApplied(lsn);
  }

  start(): void {
    const { snapshot, deployment, protocolVersion } = this.o;
    const { status } = snapshot;
    const contentType = `application/vnd.restate.invocation.v${protocolVersion}`;
    const path = `/invoke/${encodeURIComponent(status.target.service)}/${encodeURIComponent(status.target.handler)}`;
    let stream: Exchange;
    try {
      stream = this.o.client.open(
        deployment,
        path,
        {
          "content-type": contentType,
          accept: contentType,
          ...this.o.identity?.headers(path, status.target.serviceType === "SERVICE" ? undefined : status.target.key),
          ...(this.o.traceparent !== undefined ? { traceparent: this.o.traceparent } : {}),
          ...deployment.additionalHeaders,
        },
        {
          onResponse: (httpStatus, server) => {
            this.httpStatus = httpStatus;
            this.serverHeader = server;
          },
          onData: (chunk) => {
            if (this.httpStatus === 200) this.onData(chunk);
            else this.errorBody += chunk.toString("utf8").slice(0, 2000);
          },
          onEnd: () => {
            let reason = `deployment answered HTTP ${this.httpStatus}: ${this.errorBody.trim() || "(empty body)"}`;
            if (this.httpStatus === 200) {
              reason = "deployment closed the stream without End, Suspension or Error";
              try {
                this.decoder.end();
              } catch (e) {
                reason = `deployment closed the stream mid-frame: ${errorMessage(e)}`;
              }
            }
            this.finish({ kind: "failed", message: reason, madeProgress: this.madeProgress });
          },
          onError: (e) => this.finish({ kind: "failed", message: `request to ${deployment.uri} failed: ${errorMessage(e)}`, madeProgress: this.madeProgress }),
          onClose: (detail) => this.finish({ kind: "failed", message: `request to ${deployment.uri}: ${detail}`, madeProgress: this.madeProgress }),
        },
      );
    } catch (e) {
      this.finish({ kind: "failed", message: `cannot open a request to ${deployment.uri}: ${errorMessage(e)}`, madeProgress: false });
      return;
    }
    this.stream = stream;

    const start = create(pb.StartMessageSchema, {
      id: invocationIdToBytes(status.id),
      debugId: status.id,
      knownEntries: snapshot.journal.length,
      stateMap: [...(snapshot.state ?? new Map()).entries()].map(([k, v]) => ({ key: Buffer.from(k, "utf8"), value: v })),
      partialState: snapshot.partialState,
      key: status.target.key ?? "",
      retryCountSinceLastStoredEntry: this.o.retryCountSinceLastStoredEntry,
      randomSeed: BigInt(status.randomSeed),
      ...(status.idempotencyKey !== undefined ? { idempotencyKey: status.idempotencyKey } : {}),
    });
    const frames = [encodeFrame(MessageType.Start, toBinary(pb.StartMessageSchema, start))];
    for (const e of snapshot.journal) frames.push(encodeFrame(e.type, e.payload));
    stream.write(Buffer.concat(frames));
    // Request/response deployments get everything up front; they suspend to receive more.
    if (deployment.protocolMode === "REQUEST_RESPONSE") stream.endRequest();
    this.touch();
  }

  /** A notification the partition journaled after this attempt's snapshot. */
  notify(entry: { type: number; payload: Uint8Array }, runAck?: number): void {
    const s = this.stream;
    if (this.finished || !s || !s.requestOpen) return;
    if (runAck !== undefined && this.requestedAck.has(runAck)) {
      const ack = toBinary(pb.ProposeRunCompletionAckMessageSchema, create(pb.ProposeRunCompletionAckMessageSchema, { completionId: runAck }));
      s.write(encodeFrame(MessageType.ProposeRunCompletionAck, ack));
    } else {
      s.write(encodeFrame(entry.type, entry.payload));
    }
  }

  abort(): void {
    this.finish({ kind: "aborted" });
  }

  private onData(chunk: Buffer): void {
    this.touch();
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      this.finish({ kind: "failed", message: `protocol violation from deployment: ${errorMessage(e)}`, madeProgress: this.madeProgress });
      return;
    }
    this.steps = [];
    for (const f of frames) {
      if (this.finished) break;
      this.onFrame(f);
    }
    const steps = this.steps;
    this.steps = null;
    if (steps.length === 1) this.send(steps[0]!);
    else if (steps.length > 1) this.send({ t: "attempt-steps", steps });
  }

  private onFrame(f: Frame): void {
    const id = this.o.snapshot.status.id;
    // Custom entries are opaque to the runtime but journaled in order like commands.
    if (isCommandType(f.type) || isCustomType(f.type)) {
      const commandIndex = this.commandCount++;
      this.madeProgress = true;
      this.propose({ t: "journal-command", id, commandIndex, msgType: f.type, payload: f.payload, ...this.calleeOf(f) });
      return;
    }
    switch (f.type) {
      case MessageType.ProposeRunCompletion: {
        const m = fromBinary(pb.ProposeRunCompletionMessageSchema, f.payload);
        if (f.requestedAck) this.requestedAck.add(m.resultCompletionId);
        this.madeProgress = true;
        const result =
          m.result.case === "value"
            ? { kind: "success" as const, value: m.result.value }
            : { kind: "failure" as const, code: m.result.value?.code ?? 500, message: m.result.value?.message ?? "" };
        this.propose({ t: "run-completion", id, completionId: m.resultCompletionId, result });
        return;
      }
      case MessageType.Suspension: {
        const m = fromBinary(pb.SuspensionMessageSchema, f.payload);
        this.propose({ t: "suspend", id, commandCount: this.commandCount, awaiting: flattenFuture(m.awaitingOn) });
        this.finish({ kind: "suspended" });
        return;
      }
      case MessageType.End:
        this.propose({ t: "end", id, commandCount: this.commandCount });
        this.finish({ kind: "ended" });
        return;
      case MessageType.Error: {
        const m = fromBinary(pb.ErrorMessageSchema, f.payload);
        const where = m.relatedCommandName ? ` (command '${m.relatedCommandName}')` : "";
        const requested = REQUESTED_BEHAVIOR[m.behavior];
        this.finish({
          kind: "failed",
          message: `[${m.code}] ${m.message}${where}`,
          madeProgress: this.madeProgress,
          ...(m.nextRetryDelay !== undefined ? { retryAfterMs: Number(m.nextRetryDelay) } : {}),
          ...(m.relatedCommandIndex !== undefined || m.relatedCommandName ? { relatedCommand: { ...(m.relatedCommandIndex !== undefined ? { index: m.relatedCommandIndex } : {}), ...(m.relatedCommandName ? { name: m.relatedCommandName } : {}) } } : {}),
          ...(requested ? { requested: { behavior: requested, code: m.code || 500, message: m.message } } : {}),
        });
        return;
      }
      case MessageType.AwaitingOn:
        return;
      default:
        this.finish({ kind: "failed", message: `unexpected message type 0x${f.type.toString(16)} from deployment`, madeProgress: this.madeProgress });
    }
  }

  private calleeOf(f: Frame): { callee?: CalleeAssignment } {
    if (f.type === MessageType.CallCommand) return { callee: this.o.resolveCallee(fromBinary(pb.CallCommandMessageSchema, f.payload)) };
    if (f.type === MessageType.OneWayCallCommand) return { callee: this.o.resolveCallee(fromBinary(pb.OneWayCallCommandMessageSchema, f.payload)) };
    return {};
  }

  private propose(command: AttemptCommand): void {
    if (command.t === "journal-command" && this.pin !== undefined) {
      command = { ...command, pin: this.pin };
      this.pin = undefined;
    } else this.proposePin();
    if (this.steps !== null) this.steps.push(command);
    else this.send(command);
  }

  private send(command: Command): void {
    const p = this.o.leader.propose(command);
    this.lastProposal = p;
    p.catch((e) => this.finish({ kind: "failed", message: `cannot append to log: ${errorMessage(e)}`, madeProgress: this.madeProgress }));
  }

  /** The pin as a record of its own, unless a journal-command carried it already. */
  private proposePin(): void {
    const pin = this.pin;
    if (pin === undefined) return;
    this.pin = undefined;
    this.propose({ t: "pin-deployment", id: this.o.snapshot.status.id, ...pin });
  }

  /**
   * The SDK must show signs of life; after the inactivity timeout we ask it to suspend (a
   * request/response SDK was asked from the start), then abort.
   */
  private touch(): void {
    if (this.inactivity) clearTimeout(this.inactivity);
    this.inactivity = setTimeout(() => {
      const s = this.stream;
      if (this.finished || !s) return;
      if (s.requestOpen) s.endRequest();
      this.inactivity = setTimeout(
        () => this.finish({ kind: "failed", message: "abort timeout: deployment did not finish after it was asked to suspend", madeProgress: this.madeProgress }),
        this.o.abortTimeoutMs,
      );
    }, this.o.inactivityTimeoutMs);
  }

  private finish(outcome: AttemptOutcome): void {
    if (this.finished) return;
    this.finished = true;
    if (this.inactivity) clearTimeout(this.inactivity);
    const s = this.stream;
    if (s) {
      if (outcome.kind === "ended" || outcome.kind === "suspended") {
        if (s.requestOpen) s.endRequest();
      } else s.abort();
    }
    if (outcome.kind === "failed") this.proposePin();
    if (outcome.kind === "failed") this.o.logger.warn({ invocationId: this.o.snapshot.status.id, reason: outcome.message }, "invocation attempt failed");
    this.resolveOutcome(outcome);
  }
}

/** ErrorBehavior values other than RETRY (0, also what SDKs before V7 send by leaving the field out). */
const REQUESTED_BEHAVIOR: Readonly<Record<number, "pause" | "fail">> = { [pb.ErrorBehavior.PAUSE]: "pause", [pb.ErrorBehavior.FAIL]: "fail" };

function flattenFuture(f: pb.Future | undefined): AwaitingOn {
  const completions: number[] = [];
  const signals: number[] = [];
  const namedSignals: string[] = [];
  const walk = (x: pb.Future | undefined) => {
    if (!x) return;
    completions.push(...x.waitingCompletions);
    signals.push(...x.waitingSignals);
    namedSignals.push(...x.waitingNamedSignals);
    x.nestedFutures.forEach(walk);
  };
  walk(f);
  return { completions, signals, namedSignals };
}
