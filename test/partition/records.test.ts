import { test } from "node:test";
import assert from "node:assert/strict";
import { CorruptionError } from "../../src/types/errors.ts";
import { Lsn, LeaderEpoch, PartitionKey, newInvocationId } from "../../src/types/ids.ts";
import {
  CorruptRecordError,
  RECORD_FORMAT_VERSION,
  UnsupportedRecordVersionError,
  decodeEnvelope,
  decodeForwardedCommand,
  decodeOutboxMessage,
  encodeForwardedCommand,
  encodeEnvelope,
  encodeOutboxMessage,
  type Envelope,
  type OutboxMessage,
} from "../../src/partition/records.ts";
import { Packr } from "msgpackr";
import { crc32 as zlibCrc } from "node:zlib";

const id = newInvocationId(PartitionKey(7n), new Uint8Array(16).fill(1));
const envelope: Envelope = {
  header: { ts: 1_764_000_000_123, epoch: LeaderEpoch(3) },
  command: {
    t: "invoke",
    request: {
      id,
      target: { service: "Counter", handler: "add", key: "k", serviceType: "VIRTUAL_OBJECT", handlerType: "EXCLUSIVE" },
      argument: new Uint8Array([1, 2, 3]),
      headers: [{ key: "x-a", value: "b" }],
      responseSink: { kind: "ingress", nodeId: 1 },
      idempotencyKey: "idem",
      randomSeed: "12345678901234567890",
    },
  },
};

test("a log record round-trips with its version byte first", () => {
  const bytes = encodeEnvelope(envelope);
  assert.equal(bytes[0], RECORD_FORMAT_VERSION);
  const back = decodeEnvelope(bytes, Lsn(5));
  assert.equal(back.header.ts, envelope.header.ts);
  assert.equal(back.header.epoch, 3);
  assert.equal(back.command.t, "invoke");
  assert.deepEqual(Buffer.from((back.command as Extract<Envelope["command"], { t: "invoke" }>).request.argument), Buffer.from([1, 2, 3]));
});

test("every flipped byte of a record is refused with an error naming the LSN", () => {
  const bytes = encodeEnvelope(envelope);
  for (let i = 0; i < bytes.length; i++) {
    const damaged = Uint8Array.from(bytes);
    damaged[i] ^= 0x10;
    assert.throws(
      () => decodeEnvelope(damaged, Lsn(42)),
      (e: unknown) => e instanceof CorruptionError && /LSN 42\b/.test((e as Error).message),
      `flipping byte ${i} went unnoticed`,
    );
  }
});

test("a record of an unknown format version is refused, naming the version and the LSN", () => {
  const bytes = encodeEnvelope(envelope);
  bytes[0] = RECORD_FORMAT_VERSION + 1;
  assert.throws(() => decodeEnvelope(bytes, Lsn(9)), (e: unknown) => {
    assert.ok(e instanceof UnsupportedRecordVersionError);
    assert.equal(e.code, "unsupported_record_version");
    assert.equal(e.retryable, false);
    assert.match(e.message, /LSN 9\b.*version 2/);
    return true;
  });
});

test("a truncated record is refused", () => {
  const bytes = encodeEnvelope(envelope);
  assert.throws(() => decodeEnvelope(bytes.subarray(0, 4), Lsn(3)), CorruptRecordError);
  assert.throws(() => decodeEnvelope(bytes.subarray(0, bytes.length - 1), Lsn(3)), CorruptRecordError);
});

/** Bytes with a valid header and checksum around an arbitrary msgpack body, as a buggy writer would make. */
function withValidFrame(body: unknown, kind = 1): Uint8Array {
  const packed = new Packr({ useRecords: false, moreTypes: false }).pack(body);
  const out = Buffer.alloc(6 + packed.length);
  out[0] = RECORD_FORMAT_VERSION;
  out[1] = kind;
  out.writeUInt32LE(zlibCrc(packed), 2);
  packed.copy(out, 6);
  return out;
}
test("a well-framed record of the wrong shape is refused, naming the field", () => {
  const cases: [unknown, RegExp][] = [
    [{ header: { ts: 1 }, command: { t: "no-such-command" } }, /record\.command\.t/],
    [{ header: { ts: "yesterday" }, command: { t: "kill", id } }, /record\.header\.ts: expected number, found string/],
    [{ header: { ts: 1 }, command: { t: "kill" } }, /record\.command\.id: expected string, found undefined/],
    [{ header: { ts: 1 }, command: { t: "run-completion", id, completionId: 1, result: { kind: "maybe" } } }, /record\.command\.result\.kind/],
    [{ header: { ts: 1 }, command: { ...envelope.command, request: { ...(envelope.command as { request: object }).request, argument: "text" } } }, /request\.argument: expected bytes/],
    [[1, 2, 3], /record: expected object, found array/],
  ];
  for (const [body, message] of cases) {
    assert.throws(() => decodeEnvelope(withValidFrame(body), Lsn(77)), (e: unknown) => {
      assert.ok(e instanceof CorruptRecordError, String(e));
      assert.match(e.message, /LSN 77\b/);
      assert.match(e.message, message);
      return true;
    });
  }
});

test("a timer-fired record written before it carried fireAt still decodes, without one", () => {
  const old = decodeEnvelope(withValidFrame({ header: { ts: 5, epoch: 1 }, command: { t: "timer-fired", key: `cleanup:${id}` } }), Lsn(8));
  assert.deepEqual(old.command, { t: "timer-fired", key: `cleanup:${id}` });
  const current: Envelope = { header: { ts: 5, epoch: LeaderEpoch(1) }, command: { t: "timer-fired", key: `cleanup:${id}`, fireAt: 1_764_000_000_000 } };
  assert.deepEqual(decodeEnvelope(encodeEnvelope(current), Lsn(9)).command, current.command);
  assert.throws(() => decodeEnvelope(withValidFrame({ header: { ts: 5 }, command: { t: "timer-fired", key: "k", fireAt: "soon" } }), Lsn(10)), /command\.fireAt: expected number/);
});

test("outbox entries are versioned and checked too, and are never taken for log records", () => {
  const message: OutboxMessage = { t: "attach", target: id, caller: id, completionId: 2, via: "output" };
  const bytes = encodeOutboxMessage(message);
  assert.deepEqual(decodeOutboxMessage(bytes, 4), message);
  assert.throws(() => decodeEnvelope(bytes, Lsn(1)), /LSN 1\b.*kind 2/);
  assert.throws(() => decodeOutboxMessage(encodeEnvelope(envelope), 4), /outbox entry 4\b.*kind 1/);
  const damaged = Uint8Array.from(bytes);
  damaged[damaged.length - 1] ^= 1;
  assert.throws(() => decodeOutboxMessage(damaged, 4), (e: unknown) => e instanceof CorruptRecordError && /outbox entry 4/.test((e as Error).message));
});

test("a command forwarded to a partition's leader round-trips and is checked like a record", () => {
  const command = { t: "cancel", id } as const;
  const bytes = encodeForwardedCommand(command);
  assert.deepEqual(decodeForwardedCommand(bytes, "N2:1"), command);
  assert.throws(() => decodeEnvelope(bytes, Lsn(1)), /kind 3/);
  const damaged = Uint8Array.from(bytes);
  damaged[damaged.length - 1] ^= 1;
  assert.throws(() => decodeForwardedCommand(damaged, "N2:1"), /command forwarded by N2:1 is corrupt/);
  assert.throws(() => decodeForwardedCommand(withValidFrame({ t: "cancel" }, 3), "N2:1"), /command\.id: expected string/);
});

test("an attempt's steps round-trip as one record, and a step that does not fit is refused by name", () => {
  const steps: Envelope = {
    header: { ts: 1_764_000_000_200 },
    command: {
      t: "attempt-steps",
      steps: [
        { t: "journal-command", id, commandIndex: 1, msgType: 0x0411, payload: new Uint8Array([9]) },
        { t: "end", id, commandCount: 2 },
      ],
    },
  };
  const back = decodeEnvelope(encodeEnvelope(steps), Lsn(6));
  assert.equal(back.command.t, "attempt-steps");
  assert.deepEqual(
    (back.command as Extract<Envelope["command"], { t: "attempt-steps" }>).steps.map((s) => s.t),
    ["journal-command", "end"],
  );
  // Only what an attempt proposes may be a step: no nested batch, no other command.
  const nested = withValidFrame({ header: { ts: 1 }, command: { t: "attempt-steps", steps: [{ t: "attempt-steps", steps: [] }] } });
  assert.throws(() => decodeEnvelope(nested, Lsn(7)), (e: unknown) => e instanceof CorruptRecordError && /record\.command\.steps\[0\]\.t/.test((e as Error).message));
  const badStep = withValidFrame({ header: { ts: 1 }, command: { t: "attempt-steps", steps: [{ t: "end", id, commandCount: "two" }] } });
  assert.throws(() => decodeEnvelope(badStep, Lsn(8)), (e: unknown) => e instanceof CorruptRecordError && /record\.command\.steps\[0\]\.commandCount: expected integer/.test((e as Error).message));
});
