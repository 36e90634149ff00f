import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, equals, ScalarType, toBinary, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import * as pb from "../../src/protocol/gen/dev/restate/service/protocol_pb.ts";
import { FrameTooLargeError, ProtocolViolationError, UnknownMessageTypeError } from "../../src/protocol/errors.ts";
import { decodeAs, decodeMessage, encodeFrame, encodeMessage, FrameDecoder, type Frame } from "../../src/protocol/frame.ts";
import {
  commandSchema,
  isCommandType,
  isNotificationType,
  MessageType,
  messageKind,
  messageSchema,
  messageTypeName,
  messageTypeOf,
} from "../../src/protocol/message-type.ts";

/** Builds a message with every field set to a non-default value (first member of each oneof). */
function sample(schema: DescMessage, depth = 0): Message {
  const init: Record<string, unknown> = {};
  const seenOneofs = new Set<string>();
  for (const f of schema.fields) {
    const value = sampleValue(f, depth);
    if (value === undefined) continue;
    if (f.oneof) {
      if (seenOneofs.has(f.oneof.localName)) continue;
      seenOneofs.add(f.oneof.localName);
      init[f.oneof.localName] = { case: f.localName, value };
    } else {
      init[f.localName] = value;
    }
  }
  return create(schema, init);
}

function sampleValue(f: DescField, depth: number): unknown {
  const scalar = (t: ScalarType): unknown => {
    switch (t) {
      case ScalarType.STRING:
        return `s-${f.name}-ü`;
      case ScalarType.BYTES:
        return new Uint8Array([0, 1, 0xff, f.number]);
      case ScalarType.BOOL:
        return true;
      case ScalarType.UINT64:
        return 0xfedcba9876543210n;
      case ScalarType.UINT32:
        return 0xfffffff0 + (f.number % 10);
      default:
        throw new Error(`sample: unhandled scalar ${t} in ${f.name}`);
    }
  };
  switch (f.fieldKind) {
    case "scalar":
      return scalar(f.scalar);
    case "enum":
      return f.enum.values[f.enum.values.length - 1].number;
    case "message":
      // Future is recursive; two levels are enough to cover nesting.
      return depth < 2 ? sample(f.message, depth + 1) : undefined;
    case "list":
      if (f.listKind === "scalar") return [scalar(f.scalar), scalar(f.scalar)];
      if (f.listKind === "message") return depth < 2 ? [sample(f.message, depth + 1), create(f.message)] : [];
      return [];
    case "map":
      throw new Error("sample: no maps in the protocol");
  }
}

const ALL_TYPES = Object.entries(MessageType);

describe("message type table", () => {
  it("maps every id to its schema and back, and classifies it", () => {
    assert.equal(ALL_TYPES.length, 39);
    for (const [name, id] of ALL_TYPES) {
      const schema = messageSchema(id);
      assert.ok(schema, name);
      assert.equal(schema.typeName, `dev.restate.service.protocol.${name}Message`);
      assert.equal(messageTypeOf(schema), id);
      assert.equal(messageTypeName(id), name);
      const expected = name.endsWith("Command") ? "command" : name.endsWith("Notification") ? "notification" : "control";
      assert.equal(messageKind(id), expected, name);
      assert.equal(isCommandType(id), expected === "command");
      assert.equal(isNotificationType(id), expected === "notification");
      assert.equal(commandSchema(id), expected === "command" ? schema : undefined);
    }
  });

  it("treats 0xFC00-masked ids as custom and rejects other unknown ids", () => {
    for (const id of [0xfc00, 0xfc01, 0xffff]) {
      assert.equal(messageKind(id), "custom");
      assert.equal(messageSchema(id), undefined);
      assert.equal(isCommandType(id), false);
      assert.equal(isNotificationType(id), false);
    }
    assert.equal(messageTypeName(0xfc01), "Custom(0xfc01)");
    for (const id of [0x0004, 0x0008, 0x040f, 0x0415, 0x8000, 0xfbfe, 0xf800]) {
      assert.throws(() => messageKind(id), UnknownMessageTypeError, messageTypeName(id));
    }
    assert.throws(() => messageTypeOf(pb.StateKeysSchema), TypeError);
  });
});

describe("frame codec", () => {
  it("round-trips every message type with all fields set, through the streaming decoder", () => {
    for (const [name, id] of ALL_TYPES) {
      const schema = messageSchema(id)!;
      const msg = sample(schema);
      const decoder = new FrameDecoder();
      const frames = decoder.push(encodeFrame(id, msg));
      assert.equal(frames.length, 1, name);
      const decoded = decodeMessage(frames[0]);
      assert.equal(decoded.type, id);
      assert.equal(decoded.kind, messageKind(id));
      assert.ok(equals(schema, decoded.message as Message, msg), `${name} round-trips`);
      // Bytes input gives the same frame as message input.
      assert.deepEqual(encodeFrame(id, toBinary(schema, msg)), encodeFrame(id, msg));
    }
  });

  it("writes the documented header layout, including REQUESTED_ACK", () => {
    const f = encodeFrame(MessageType.ProposeRunCompletion, new Uint8Array([1, 2, 3]), { requestedAck: true });
    assert.deepEqual([...f], [0x00, 0x05, 0x80, 0x00, 0x00, 0x00, 0x00, 0x03, 1, 2, 3]);
    assert.equal(f.readBigUInt64BE(0) & 0x8000_0000_0000n, 0x8000_0000_0000n);
    const [frame] = new FrameDecoder().push(f);
    assert.equal(frame.requestedAck, true);
    assert.equal(frame.flags, 0x8000);

    const end = encodeMessage(pb.EndMessageSchema, {});
    assert.deepEqual([...end], [0x00, 0x03, 0, 0, 0, 0, 0, 0]);
    assert.equal(new FrameDecoder().push(end)[0].requestedAck, false);
  });

  it("keeps custom entries as raw bytes", () => {
    const raw = new Uint8Array([9, 8, 7]);
    const [frame] = new FrameDecoder().push(encodeFrame(0xfc02, raw));
    const d = decodeMessage(frame);
    assert.equal(d.kind, "custom");
    assert.deepEqual([...(d.message as Uint8Array)], [...raw]);
    assert.throws(() => encodeFrame(0xfc02, create(pb.EndMessageSchema)), TypeError);
  });

  it("refuses to frame a message under another type's id", () => {
    assert.throws(() => encodeFrame(MessageType.End, create(pb.StartMessageSchema)), TypeError);
  });

  it("decodes with 1-byte chunks and with several frames per chunk", () => {
    const msgs = ALL_TYPES.map(([, id]) => ({ id, msg: sample(messageSchema(id)!) }));
    const stream = Buffer.concat([...msgs.map(({ id, msg }) => encodeFrame(id, msg)), encodeFrame(MessageType.End, new Uint8Array())]);

    const check = (frames: Frame[]) => {
      assert.equal(frames.length, msgs.length + 1);
      msgs.forEach(({ id, msg }, i) => {
        assert.equal(frames[i].type, id);
        assert.ok(equals(messageSchema(id)!, decodeMessage(frames[i]).message as Message, msg));
      });
      assert.equal(frames[msgs.length].payload.length, 0);
    };

    const byteWise = new FrameDecoder();
    const got: Frame[] = [];
    for (let i = 0; i < stream.length; i++) got.push(...byteWise.push(stream.subarray(i, i + 1)));
    byteWise.end();
    check(got);

    check(new FrameDecoder().push(stream));

    // Irregular boundaries, including ones inside headers.
    const irregular = new FrameDecoder();
    const got2: Frame[] = [];
    for (let i = 0, step = 1; i < stream.length; i += step, step = (step * 7 + 3) % 61) got2.push(...irregular.push(stream.subarray(i, i + step)));
    check(got2);
  });

  it("rejects an oversize frame from its header alone, and stays failed", () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 1024 });
    assert.equal(decoder.push(encodeFrame(MessageType.OutputCommand, new Uint8Array(1024))).length, 1);
    const header = encodeFrame(MessageType.OutputCommand, new Uint8Array(1025)).subarray(0, 8);
    assert.throws(() => decoder.push(header), (e: unknown) => {
      assert.ok(e instanceof FrameTooLargeError);
      assert.equal(e.code, "frame_too_large");
      assert.equal(e.length, 1025);
      assert.match(e.message, /OutputCommand|0x0401/);
      return true;
    });
    assert.throws(() => decoder.push(new Uint8Array(1)), FrameTooLargeError);
    // A 4 GiB length against the default limit.
    const huge = Buffer.from([0x04, 0x01, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    assert.throws(() => new FrameDecoder().push(huge), FrameTooLargeError);
  });

  it("rejects unknown types, truncated streams and undecodable payloads with typed errors", () => {
    assert.throws(() => new FrameDecoder().push(Buffer.from([0x00, 0x04, 0, 0, 0, 0, 0, 0])), UnknownMessageTypeError);

    const truncated = new FrameDecoder();
    assert.deepEqual(truncated.push(encodeFrame(MessageType.OutputCommand, new Uint8Array(10)).subarray(0, 12)), []);
    assert.throws(() => truncated.end(), (e: unknown) => e instanceof ProtocolViolationError && e.code === "truncated_frame");

    const [bad] = new FrameDecoder().push(encodeFrame(MessageType.OutputCommand, new Uint8Array([0x0a, 0xff])));
    assert.throws(() => decodeMessage(bad), ProtocolViolationError);

    const [end] = new FrameDecoder().push(encodeMessage(pb.EndMessageSchema, {}));
    assert.throws(() => decodeAs(end, pb.SuspensionMessageSchema), (e: unknown) => e instanceof ProtocolViolationError && e.code === "unexpected_message_type");
    assert.equal(decodeAs(end, pb.EndMessageSchema).$typeName, "dev.restate.service.protocol.EndMessage");
  });
});
