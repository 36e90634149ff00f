import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { answerFrame, callFrame, cancelFrame, FrameKind, FrameReader, MuxProtocolError, type MuxFrame } from "../../src/net/mux-frames.ts";

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const plain = (f: MuxFrame) => ("body" in f ? { ...f, body: Buffer.from(f.body).toString("hex") } : { ...f });

describe("call stream frames", () => {
  it("read back as written, however the stream cuts them into chunks", () => {
    const next = random(7);
    const written: MuxFrame[] = [];
    const bytes: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      // Bodies on both sides of the size above which a body is written after its header.
      const body = Buffer.alloc(Math.floor(next() * (next() < 0.1 ? 40_000 : 300)), i % 251);
      const id = Math.floor(next() * 0xffffffff) >>> 0;
      const kind = i % 3;
      if (kind === 0) {
        const f = { kind: FrameKind.Call, id, timeoutMs: Math.floor(next() * 100_000), path: `/svc.é${i}/Method`, body } as const;
        written.push(f);
        bytes.push(...callFrame(f.id, f.timeoutMs, f.path, f.body));
      } else if (kind === 1) {
        const f = { kind: FrameKind.Answer, id, status: 200 + (i % 300), isError: i % 2 === 0, body } as const;
        written.push(f);
        bytes.push(...answerFrame(f.id, f.status, f.isError, f.body));
      } else {
        written.push({ kind: FrameKind.Cancel, id });
        bytes.push(cancelFrame(id));
      }
    }
    const stream = Buffer.concat(bytes);
    for (const maxChunk of [1, 7, 4096, stream.length]) {
      const reader = new FrameReader(1 << 20);
      const read: MuxFrame[] = [];
      for (let at = 0; at < stream.length; ) {
        const n = Math.max(1, Math.min(maxChunk, Math.ceil(next() * maxChunk)));
        reader.push(stream.subarray(at, at + n), (f) => read.push(f));
        at += n;
      }
      assert.deepEqual(read.map(plain), written.map(plain), `chunks of up to ${maxChunk} bytes`);
      assert.equal(reader.midFrame, false);
    }
  });

  it("join a frame that spans many chunks once, not at every chunk", (t) => {
    const body = Buffer.alloc(4 << 20, 3);
    const stream = Buffer.concat(answerFrame(9, 200, false, body));
    const concat = t.mock.method(Buffer, "concat");
    const reader = new FrameReader(8 << 20);
    const read: MuxFrame[] = [];
    for (let at = 0; at < stream.length; at += 16 * 1024) reader.push(stream.subarray(at, at + 16 * 1024), (f) => read.push(f));
    assert.equal(read.length, 1);
    assert.ok("body" in read[0] && read[0].body.equals(body));
    assert.equal(concat.mock.callCount(), 1, "the 256 chunks of one 4 MiB answer are joined once");
  });

  it("refuse a frame longer than the limit, an unknown kind and a call shorter than its path", () => {
    const [big] = callFrame(1, 10, "/a/b", Buffer.alloc(2000));
    assert.throws(() => new FrameReader(1000).push(big, () => undefined), (e) => e instanceof MuxProtocolError && /exceeds 1000/.test(e.message));
    const unknown = cancelFrame(3);
    unknown[4] = 9;
    assert.throws(() => new FrameReader(1000).push(unknown, () => undefined), (e) => e instanceof MuxProtocolError && /unknown frame kind 9/.test(e.message));
    const [call] = callFrame(2, 10, "/a/b", Buffer.alloc(0));
    // Claims a 200-byte path in a frame that holds 4.
    call.writeUInt16BE(200, 13);
    assert.throws(() => new FrameReader(1000).push(call, () => undefined), (e) => e instanceof MuxProtocolError && /shorter than its path/.test(e.message));
  });
});
