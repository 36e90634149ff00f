import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FilterSyntaxError, formatFilters, parseFilters, whereClause, withFilter } from "../../../src/admin/ui/client/filters.ts";

// The invocations query bar: its terms, and the SQL they become.

describe("web UI query bar", () => {
  const now = Date.parse("2026-01-31T12:00:00Z");

  it("turns terms into a WHERE clause on sys_invocation", () => {
    const filters = parseFilters('status:running,backing-off service:Counter key:"a b" handler:add deployment:dp_1 created>-15m alice');
    assert.equal(
      whereClause(filters, undefined, now),
      "WHERE (status = 'running' OR status = 'backing-off') AND target_service_name IN ('Counter') AND target_service_key IN ('a b')" +
        " AND target_handler_name IN ('add') AND (pinned_deployment_id IN ('dp_1') OR last_attempt_deployment_id IN ('dp_1'))" +
        " AND created_at > '2026-01-31T11:45:00.000Z' AND (target LIKE '%alice%' OR id LIKE '%alice%')",
    );
  });

  it("maps outcomes and negation, and leaves out the field whose own counts are asked for", () => {
    const filters = parseFilters("status:!succeeded,failed service:Greeter");
    assert.equal(
      whereClause(filters),
      "WHERE NOT (((status = 'completed' AND completion_result = 'success') OR (status = 'completed' AND completion_result = 'failure'))) AND target_service_name IN ('Greeter')",
    );
    assert.equal(whereClause(filters, "status"), "WHERE target_service_name IN ('Greeter')");
    assert.equal(whereClause([]), "");
  });

  it("quotes values into SQL literals", () => {
    assert.equal(whereClause(parseFilters(`key:"it's"`)), "WHERE target_service_key IN ('it''s')");
  });

  it("formats back what it parsed, and replaces one field", () => {
    const text = 'status:!succeeded service:Counter key:"a b" modified<2026-01-01T00:00:00Z';
    assert.equal(formatFilters(parseFilters(text)), text);
    assert.equal(formatFilters(withFilter(parseFilters(text), "service", ["Greeter"])), 'status:!succeeded key:"a b" modified<2026-01-01T00:00:00Z service:Greeter');
    assert.equal(formatFilters(withFilter(parseFilters(text), "status", [])), 'service:Counter key:"a b" modified<2026-01-01T00:00:00Z');
  });

  it("refuses what it cannot mean, naming the term", () => {
    const refused: [string, RegExp][] = [
      ["bogus:1", /unknown filter 'bogus'/],
      ["status:sleeping", /unknown status 'sleeping'/],
      ["service>Counter", /use service:value/],
      ["created:today", /compare times with > or </],
      ["created>yesterday", /'yesterday' is not a time/],
      ["key:", /has no value/],
      ['key:"open', /a quote is not closed/],
    ];
    for (const [text, message] of refused) assert.throws(() => parseFilters(text), (e: unknown) => e instanceof FilterSyntaxError && message.test(e.message), text);
  });
});
