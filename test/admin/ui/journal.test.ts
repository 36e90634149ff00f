import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildTimeline, outcomeOf, summary } from "../../../src/admin/ui/client/journal.ts";

// The invocation page's timeline from sys_journal and sys_journal_events rows, in the JSON shapes
// restate-server 1.7.12 writes (entry_json).

const bytes = (s: string) => [...Buffer.from(s)];
const row = (index: number, entryType: string, json: unknown, at: string, extra: Record<string, unknown> = {}) => ({
  index,
  entry_type: entryType,
  entry_json: JSON.stringify(json),
  appended_at: at,
  ...extra,
});

describe("web UI journal timeline", () => {
  const journal = [
    row(0, "Command: Input", { Command: { Input: { headers: [], payload: bytes('"c"'), name: "" } } }, "2026-01-01T00:00:00.000Z"),
    row(1, "Command: Run", { Command: { Run: { completion_id: 1, name: "compose" } } }, "2026-01-01T00:00:00.010Z", { name: "compose" }),
    row(2, "Notification: Run", { Notification: { Completion: { Run: { completion_id: 1, result: { Success: bytes('"Hello"') } } } } }, "2026-01-01T00:00:00.050Z"),
    row(
      3,
      "Command: Call",
      {
        Command: {
          Call: {
            request: { invocation_id: "inv_1x", invocation_target: { Service: { name: "Greeter", handler: "greet" } }, parameter: bytes('"c"') },
            invocation_id_completion_id: 2,
            result_completion_id: 3,
            name: "",
          },
        },
      },
      "2026-01-01T00:00:00.060Z",
      { invoked_target: "Greeter/greet" },
    ),
    row(4, "Notification: CallInvocationId", { Notification: { Completion: { CallInvocationId: { completion_id: 2, invocation_id: "inv_1x" } } } }, "2026-01-01T00:00:00.061Z"),
    row(5, "Notification: Call", { Notification: { Completion: { Call: { completion_id: 3, result: { Failure: { code: 409, message: "nope" } } } } } }, "2026-01-01T00:00:00.090Z"),
  ];
  const events = [
    {
      after_journal_entry_index: 2,
      appended_at: "2026-01-01T00:00:00.055Z",
      event_type: "TransientError",
      event_json: JSON.stringify({ ty: "TransientError", error_code: 500, error_message: "boom", restate_doc_error_code: "RT0007" }),
    },
  ];

  it("puts each command with the notification that completed it, and its result or failure", () => {
    const t = buildTimeline(journal, events);
    assert.deepEqual(
      t.map((e) => [e.index, e.kind, e.type]),
      [
        [0, "Command", "Input"],
        [1, "Command", "Run"],
        [3, "Command", "Call"],
        [4, "Notification", "CallInvocationId"],
      ],
    );
    const run = t.find((e) => e.type === "Run")!;
    assert.equal(run.completion?.index, 2);
    assert.deepEqual(run.outcome, { t: "value", text: '"Hello"' });
    assert.equal(run.name, "compose");
    const call = t.find((e) => e.type === "Call")!;
    assert.equal(call.completion?.index, 5, "the result completion, not the id one");
    assert.deepEqual(call.outcome, { t: "failure", code: 409, message: "nope" });
    assert.equal(summary(call), "→ Greeter/greet");
  });

  it("shows a transient error under the command whose completion it followed", () => {
    const run = buildTimeline(journal, events).find((e) => e.type === "Run")!;
    assert.deepEqual(
      run.events.map((e) => [e.type, e.code, e.message]),
      [["TransientError", "RT0007", "boom"]],
    );
  });

  it("still lists entries without entry_json, by their entry_type", () => {
    const t = buildTimeline([{ index: 0, entry_type: "Command: Sleep", appended_at: "2026-01-01T00:00:00Z", sleep_wakeup_at: "2026-01-01T00:01:00Z" }], []);
    assert.equal(t[0]!.type, "Sleep");
    assert.equal(t[0]!.parsed, null);
    assert.equal(summary(t[0]!), "until 2026-01-01T00:01:00.000Z");
  });

  it("reads Restate's and protobuf-shaped results alike", () => {
    assert.deepEqual(outcomeOf({ Value: { content: bytes("42") } }), { t: "value", text: "42" });
    assert.deepEqual(outcomeOf("Void"), { t: "void", label: "Void" });
    assert.deepEqual(outcomeOf({ Success: [] }), { t: "void", label: "empty value" });
    assert.deepEqual(outcomeOf({ Value: [0xff, 0xfe] }), { t: "value", text: "ff fe" });
    assert.equal(outcomeOf(undefined), undefined);
  });
});
