import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDuration } from "../../src/common/http-util.ts";

describe("delay parsing", () => {
  it("accepts ISO-8601 durations and humantime", () => {
    assert.equal(parseDuration("PT10S"), 10_000);
    assert.equal(parseDuration("P1DT2H"), 26 * 3_600_000);
    assert.equal(parseDuration("PT0.5S"), 500);
    assert.equal(parseDuration("10s"), 10_000);
    assert.equal(parseDuration("500ms"), 500);
    assert.equal(parseDuration("1m30s"), 90_000);
    assert.equal(parseDuration("2h"), 7_200_000);
  });

  it("rejects anything else", () => {
    for (const bad of ["", "P", "PT", "ten seconds", "10", "10x", "s10", "1m junk"]) assert.equal(parseDuration(bad), null, bad);
  });
});
