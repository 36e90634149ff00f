import { rootLogger, type Logger } from "../../common/logger.ts";
import type { NodeConnections } from "../../net/connections.ts";
import type { SegmentConfig } from "../../metadata/documents.ts";
import type { GenerationalNodeId, LogId } from "../../types/ids.ts";
import type { LogletProvider } from "../loglet-provider.ts";
import { LogServers } from "./log-servers.ts";
import { parseReplicatedParams, replicatedLogletId } from "../../net/loglet-params.ts";
import { ReplicatedLoglet, type ReplicatedLogletOptions } from "./replicated-loglet.ts";
import type { Sequencer as SequencerService } from "../../net/gen/log_server_pb.ts";
import type { ServiceImpl } from "../../net/server.ts";
import { longPollWaitMs } from "../../net/rpc-call.ts";

export interface ReplicatedProviderOptions extends ReplicatedLogletOptions {
  /** This process's node identity: it is the sequencer of segments that name it. */
  readonly me: GenerationalNodeId;
  readonly connections: NodeConnections;
  readonly logger?: Logger;
}

/** Bifrost's provider for `"replicated"` segments; one loglet instance per segment. */
export class ReplicatedLogletProvider implements LogletProvider {
  readonly kind = "replicated";
  readonly sealsOnlyHere = false;
  private readonly loglets = new Map<string, ReplicatedLoglet>();
  private readonly servers: LogServers;
  private readonly log: Logger;

  constructor(private readonly options: ReplicatedProviderOptions) {
    this.servers = new LogServers(options.connections, options.me);
    this.log = (options.logger ?? rootLogger).child({ component: "replicated-loglet" });
  }

  async getLoglet(logId: LogId, segment: SegmentConfig): Promise<ReplicatedLoglet> {
    const id = replicatedLogletId(logId, segment.index);
    let loglet = this.loglets.get(id);
    if (!loglet) {
      loglet = new ReplicatedLoglet(id, parseReplicatedParams(segment.params), this.servers, this.log, this.options);
      this.loglets.set(id, loglet);
    }
    return loglet;
  }

  /**
   * `ReadTail` for the loglets this process sequences, registered on the node's RPC server. A
   * loglet not open here answers `serving: false`: the reader then asks the log servers.
   */
  sequencerService(): ServiceImpl<typeof SequencerService> {
    return {
      readTail: async (req, ctx) => {
        const loglet = this.loglets.get(req.header?.logletId ?? "");
        if (loglet === undefined) return { serving: false };
        const answer = await loglet.serveTailRead(req.fromOffset, req.maxRecords, req.maxBytes, longPollWaitMs(req.maxWaitMs, ctx), ctx.signal);
        const { records, ...rest } = answer;
        return { ...rest, records: records.map((payload, i) => ({ offset: req.fromOffset + i, payload })) };
      },
    };
  }

  async close(): Promise<void> {
    const loglets = [...this.loglets.values()];
    this.loglets.clear();
    await Promise.all(loglets.map((l) => l.close()));
  }
}
