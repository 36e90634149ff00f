import { randomBytes } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Bifrost } from "../bifrost/bifrost.ts";
import type { Logger } from "../common/logger.ts";
import type { PartitionStore } from "../storage/partition-store.ts";
import { readExportedState } from "../storage/store-export.ts";
import { errorMessage, RepriseError } from "../types/errors.ts";
import { Lsn, type LogId, type PartitionId } from "../types/ids.ts";
import { repositoryBackoffMs } from "./backoff.ts";
import { InvalidSnapshotError, TrimGapError } from "./errors.ts";
import type { SnapshotManifest } from "./manifest.ts";
import type { SnapshotRepository } from "./repository.ts";

export interface RestoreRequest {
  readonly partitionId: PartitionId;
  readonly logId: LogId;
  readonly store: PartitionStore;
  /**
   * The applied LSN the store must reach: the end of the trim gap it faces. `LSN_INVALID` asks only
   * to skip replaying a long log into an empty store, if a snapshot is at hand.
   */
  readonly required: Lsn;
  readonly signal: AbortSignal;
}

/** What a partition processor calls before it follows its log, and when its log is trimmed past its store. */
export interface StoreRestorer {
  /**
   * Installs the newest usable snapshot newer than the store (and at least `required`) and returns
   * the store's applied LSN after. Throws `TrimGapError` when the store is below `required` and no
   * snapshot can lift it there.
   */
  restore(request: RestoreRequest): Promise<Lsn>;
}

export interface SnapshotBootstrapOptions {
  readonly repository: SnapshotRepository;
  readonly bifrost: Bifrost;
  readonly clusterName: string;
  /** Scratch directory for downloads. */
  readonly workDir: string;
  readonly logger: Logger;
}

/**
 * Brings a store up from the repository: newest snapshot first; one that fails its checks (size,
 * checksum, manifest, cluster, beyond the log's tail) is refused and the next older one tried. An
 * unreachable repository is retried with backoff when the store cannot go on without it, and
 * skipped (replay the log instead) when it only saves time.
 */
export class SnapshotBootstrap implements StoreRestorer {
  constructor(private readonly o: SnapshotBootstrapOptions) {}

  async restore(request: RestoreRequest): Promise<Lsn> {
    const { partitionId, store, required, signal } = request;
    const applied = store.read((tx) => tx.appliedLsn());
    const log = this.o.logger.child({ partition: partitionId });
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.installNewest(request, applied, log);
      } catch (e) {
        if (e instanceof TrimGapError || !(e instanceof RepriseError && e.retryable) || signal.aborted) throw e;
        if (applied >= required) {
          log.warn({ err: errorMessage(e) }, "snapshot repository unreachable; replaying the log instead");
          return applied;
        }
        const delayMs = repositoryBackoffMs(attempt);
        log.warn({ err: errorMessage(e), retryInMs: delayMs, required }, "snapshot repository unreachable; the partition needs a snapshot to go on, retrying");
        await sleep(delayMs, undefined, { signal });
      }
    }
  }

  private async installNewest(request: RestoreRequest, applied: Lsn, log: Logger): Promise<Lsn> {
    const { partitionId, logId, store, required } = request;
    const listed = await this.o.repository.list(partitionId);
    const tail = await this.o.bifrost.findTail(logId);
    const problems: string[] = [];
    for (const snapshot of listed) {
      if (!snapshot.ok) {
        log.warn({ err: snapshot.error.message }, "snapshot refused");
        problems.push(`LSN ${snapshot.appliedLsn}: ${snapshot.error.message}`);
        continue;
      }
      const m = snapshot.manifest;
      if (m.appliedLsn <= applied || m.appliedLsn < required) break;
      const refusal = this.refusal(m, tail);
      if (refusal !== null) {
        log.warn({ snapshot: m.snapshotId, appliedLsn: m.appliedLsn, reason: refusal }, "snapshot refused");
        problems.push(`LSN ${m.appliedLsn}: ${refusal}`);
        continue;
      }
      try {
        return await this.install(m, store, log);
      } catch (e) {
        if (!(e instanceof InvalidSnapshotError)) throw e;
        log.warn({ snapshot: m.snapshotId, appliedLsn: m.appliedLsn, err: e.message }, "snapshot refused; trying the next older one");
        problems.push(`LSN ${m.appliedLsn}: ${e.message}`);
      }
    }
    if (applied >= required) return applied;
    const newest = listed.find((s) => s.ok);
    const found = newest === undefined ? "it holds no usable snapshot of this partition" : `its newest usable snapshot is at LSN ${newest.manifest.appliedLsn}`;
    throw new TrimGapError(
      partitionId,
      { from: Lsn(applied + 1), to: required },
      `no snapshot in ${this.o.repository.url} covers them (${found}${problems.length > 0 ? `; refused: ${problems.join("; ")}` : ""})`,
    );
  }

  /** Why a snapshot that passed its manifest checks still must not be installed here; null if it may. */
  private refusal(m: SnapshotManifest, tail: Lsn): string | null {
    if (m.clusterName !== this.o.clusterName) return `taken in cluster '${m.clusterName}', this is '${this.o.clusterName}'`;
    // A store ahead of its log would wait for records that will never come, or apply others' under their LSNs.
    if (m.appliedLsn >= tail) return `its applied LSN is beyond the log's tail ${tail} (a snapshot of another log)`;
    return null;
  }

  private async install(m: SnapshotManifest, store: PartitionStore, log: Logger): Promise<Lsn> {
    await mkdir(this.o.workDir, { recursive: true });
    const file = join(this.o.workDir, `p${m.partitionId}-${m.snapshotId}-${randomBytes(4).toString("hex")}.download`);
    const started = Date.now();
    try {
      await this.o.repository.download(m, file);
      let lsn: Lsn;
      try {
        const held = readExportedState(file).appliedLsn;
        if (held !== m.appliedLsn) throw new Error(`its data holds applied LSN ${held}, the manifest says ${m.appliedLsn}`);
        // One transaction: a file that fails here leaves the store as it was.
        lsn = store.install(file);
      } catch (e) {
        throw new InvalidSnapshotError(`${this.o.repository.url} ${m.snapshotId}`, `cannot be installed: ${errorMessage(e)}`);
      }
      log.info({ snapshot: m.snapshotId, appliedLsn: lsn, sizeBytes: m.sizeBytes, ms: Date.now() - started, repository: this.o.repository.url }, "store installed from snapshot");
      return lsn;
    } finally {
      await rm(file, { force: true });
    }
  }
}
