import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/cluster/config.ts";
import { invocationRetention } from "../../src/schema/retention.ts";
import type { HandlerSchema } from "../../src/schema/schema.ts";

const handler = (ty: HandlerSchema["ty"], extra: Partial<HandlerSchema> = {}): HandlerSchema => ({ name: "h", ty, inputRequired: false, ...extra });
const DEFAULTS = { journalMs: 1_000, idempotencyMs: 60_000, workflowCompletionMs: 120_000 };

describe("invocation retention (Restate's rule)", () => {
  it("a plain invocation keeps status and journal for the journal retention: the handler's, else the node's", () => {
    assert.deepEqual(invocationRetention(handler("SHARED"), false, DEFAULTS), { completionRetentionMs: 1_000 });
    assert.deepEqual(invocationRetention(handler("SHARED", { journalRetentionMs: 5 }), false, DEFAULTS), { completionRetentionMs: 5 });
    assert.deepEqual(invocationRetention(handler("SHARED"), false), {}, "without defaults the partition's applies");
  });

  it("an idempotent request keeps its status for the idempotency retention, its journal for the journal retention at most", () => {
    assert.deepEqual(invocationRetention(handler("SHARED"), true, DEFAULTS), { completionRetentionMs: 60_000, journalRetentionMs: 1_000 });
    assert.deepEqual(invocationRetention(handler("SHARED", { journalRetentionMs: 90_000 }), true, DEFAULTS), { completionRetentionMs: 60_000 }, "a longer journal retention is capped");
    assert.deepEqual(invocationRetention(handler("SHARED", { idempotencyRetentionMs: 10 }), true, DEFAULTS), { completionRetentionMs: 10 });
  });

  it("a workflow run keeps its status for the workflow completion retention", () => {
    assert.deepEqual(invocationRetention(handler("WORKFLOW"), false, DEFAULTS), { completionRetentionMs: 120_000, journalRetentionMs: 1_000 });
    assert.deepEqual(invocationRetention(handler("WORKFLOW", { workflowCompletionRetentionMs: 7, journalRetentionMs: 0 }), false, DEFAULTS), {
      completionRetentionMs: 7,
      journalRetentionMs: 0,
    });
  });

  it("the node's defaults are configured in [retention], Restate's 24 h unless set", () => {
    const day = 24 * 3_600_000;
    assert.deepEqual(loadConfig().retention, { journalMs: day, idempotencyMs: day, workflowCompletionMs: day });
    const config = loadConfig({ env: { REPRISE_RETENTION__JOURNAL_MS: "1500" }, overrides: { retention: { workflowCompletionMs: 10 } } });
    assert.deepEqual(config.retention, { journalMs: 1_500, idempotencyMs: day, workflowCompletionMs: 10 });
    assert.throws(() => loadConfig({ overrides: { retention: { idempotencyMs: -1 } } }), /retention\.idempotency_ms must be a non-negative integer/);
  });
});
