import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { create } from "@bufbuild/protobuf";
import * as pb from "../../src/protocol/gen/dev/restate/service/protocol_pb.ts";
import { decodeAs, encodeFrame, encodeMessage, FrameDecoder, type Frame } from "../../src/protocol/frame.ts";
import { MessageType, messageTypeName } from "../../src/protocol/message-type.ts";
import { invocationIdToBytes, newInvocationId, PartitionKey } from "../../src/types/ids.ts";
import { startSdkEndpoint, type SdkEndpoint } from "../support/sdk-endpoint.ts";
import "../support/promise-with-resolvers.ts";

// Proves the codec against the real SDK: we play the runtime side of one invocation by hand.

const greeter = restate.service({
  name: "Greeter",
  handlers: { greet: async (_ctx: restate.Context, name: string) => `Hello, ${name}!` },
});

const runner = restate.service({
  name: "Runner",
  handlers: { twice: async (ctx: restate.Context, n: number) => 2 * (await ctx.run("compute", () => n + 1)) },
});

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const unjson = (b: Uint8Array | undefined) => JSON.parse(new TextDecoder().decode(b));

/**
 * Opens /invoke/<service>/<handler> at protocol `version`, sends Start + Input, and hands every frame
 * the SDK sends to `onFrame` (which may answer) until End; resolves with all frames received.
 */
async function invoke(
  url: string,
  target: string,
  version: number,
  input: unknown,
  onFrame: (f: Frame, send: (b: Buffer) => void) => void = () => {},
): Promise<Frame[]> {
  const session = http2.connect(url);
  try {
    const stream = session.request({
      ":method": "POST",
      ":path": `/invoke/${target}`,
      "content-type": `application/vnd.restate.invocation.v${version}`,
    });
    const id = newInvocationId(PartitionKey(42n));
    stream.write(
      Buffer.concat([
        encodeFrame(MessageType.Start, create(pb.StartMessageSchema, { id: invocationIdToBytes(id), debugId: id, knownEntries: 1, randomSeed: 7n })),
        encodeMessage(pb.InputCommandMessageSchema, { value: { content: json(input) } }),
      ]),
    );
    const decoder = new FrameDecoder();
    const frames: Frame[] = [];
    return await new Promise<Frame[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no End; got ${frames.map((f) => messageTypeName(f.type)).join(", ")}`)), 5000);
      stream.on("response", (h) => {
        if (h[":status"] !== 200) reject(new Error(`HTTP ${h[":status"]}`));
      });
      stream.on("error", reject);
      stream.on("data", (chunk: Buffer) => {
        for (const f of decoder.push(chunk)) {
          frames.push(f);
          if (f.type === MessageType.Error) reject(new Error(`SDK error: ${decodeAs(f, pb.ErrorMessageSchema).message}`));
          if (f.type === MessageType.End) {
            clearTimeout(timer);
            stream.end();
            resolve(frames);
            return;
          }
          onFrame(f, (b) => stream.write(b));
        }
      });
    });
  } finally {
    session.close();
  }
}

describe("frame codec against the real SDK", () => {
  let sdk: SdkEndpoint;
  before(async () => {
    sdk = await startSdkEndpoint([greeter, runner]);
  });
  after(() => sdk.close());

  it("runs Greeter/greet over protocol v5: Start + Input in, Output + End out", async () => {
    const frames = await invoke(sdk.url, "Greeter/greet", 5, "Reprise");
    assert.deepEqual(frames.map((f) => messageTypeName(f.type)), ["OutputCommand", "End"]);
    const out = decodeAs(frames[0], pb.OutputCommandMessageSchema);
    assert.equal(out.result.case, "value");
    assert.equal(unjson(out.result.value.content), "Hello, Reprise!");
  });

  // V7 SDKs ask for an ack (REQUESTED_ACK flag) and get ProposeRunCompletionAck; older ones get the notification echoed.
  for (const version of [6, 7]) {
    it(`completes a ctx.run proposal over protocol v${version}`, async () => {
      let proposal: Frame | undefined;
      const frames = await invoke(sdk.url, "Runner/twice", version, 20, (f, send) => {
        if (f.type !== MessageType.ProposeRunCompletion) return;
        proposal = f;
        const m = decodeAs(f, pb.ProposeRunCompletionMessageSchema);
        assert.ok(m.result.case === "value", `run proposal carries ${m.result.case}`);
        send(
          f.requestedAck
            ? encodeMessage(pb.ProposeRunCompletionAckMessageSchema, { completionId: m.resultCompletionId })
            : encodeMessage(pb.RunCompletionNotificationMessageSchema, {
                completionId: m.resultCompletionId,
                result: { case: "value", value: { content: m.result.value } },
              }),
        );
      });
      assert.ok(proposal, "SDK proposed the run result");
      assert.equal(proposal.requestedAck, version >= 7);
      assert.equal(unjson(decodeAs(proposal, pb.ProposeRunCompletionMessageSchema).result.value as Uint8Array), 21);
      const names = frames.map((f) => messageTypeName(f.type)).filter((n) => n !== "AwaitingOn");
      assert.deepEqual(names, ["RunCommand", "ProposeRunCompletion", "OutputCommand", "End"]);
      const out = decodeAs(frames[frames.length - 2], pb.OutputCommandMessageSchema);
      assert.equal(out.result.case, "value");
      assert.equal(unjson(out.result.value.content), 42);
    });
  }
});
