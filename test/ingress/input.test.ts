import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { validateInput } from "../../src/ingress/input.ts";
import { ManifestValidationError, parseEndpointManifest } from "../../src/protocol/manifest.ts";
import { payloadSchema, type HandlerSchema } from "../../src/schema/schema.ts";
import { BadRequestError } from "../../src/types/errors.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson } from "../support/reprise.ts";
import { ALL_SERVICES } from "./services.ts";

type ErrorBody = { code: number; message: string; source: string };

async function refusal(res: Response, status: number, message: RegExp): Promise<void> {
  const body = (await res.json()) as ErrorBody;
  assert.equal(res.status, status, `${status} expected, got ${res.status}: ${body.message}`);
  assert.equal(body.code, status);
  assert.match(body.message, message);
  assert.equal(body.source, "ingress");
}

describe("request bodies are checked against the handler's declared input", () => {
  let fixture: Fixture;
  let ingress: string;

  before(async () => {
    fixture = await startFixture({ services: ALL_SERVICES });
    ({ ingress } = fixture);
  });

  after(() => fixture.stop());

  const post = (path: string, body?: string, contentType?: string) =>
    fetch(`${ingress}${path}`, {
      method: "POST",
      ...(contentType !== undefined ? { headers: { "content-type": contentType } } : {}),
      ...(body !== undefined ? { body: new TextEncoder().encode(body) } : {}),
    });

  it("takes JSON (or nothing) for a default handler; other content types, and a body without one, are 400", async () => {
    assert.deepEqual(await (await post("/Inputs/json", '{"a":1}', "application/json")).json(), { a: 1 });
    assert.deepEqual(await (await post("/Inputs/json", "[1]", "application/json; charset=utf-8")).json(), [1]);
    assert.equal(await (await post("/Inputs/json")).json(), null);
    assert.equal(await (await post("/Inputs/json", undefined, "application/json")).json(), null);
    await refusal(await post("/Inputs/json", "1", "text/plain"), 400, /^input validation error: Content-type 'text\/plain' does not match 'application\/json'$/);
    await refusal(await post("/Inputs/json", "1"), 400, /^input validation error: Empty content-type$/);
    await refusal(await post("/Inputs/json", "{nope", "application/json"), 400, /malformed JSON/);
  });

  it("matches declared binary, wildcard and schema inputs, and refuses any body where none is declared", async () => {
    assert.equal(await (await post("/Inputs/bytes", "raw", "application/octet-stream")).text(), "raw");
    await refusal(await post("/Inputs/bytes", "raw", "application/json"), 400, /does not match 'application\/octet-stream'/);
    assert.equal(await (await post("/Inputs/text", "a,b", "text/csv")).text(), "a,b");
    await refusal(await post("/Inputs/text", "{}", "application/json"), 400, /does not match 'text\/\*'/);
    assert.equal(await (await fetch(`${ingress}/Inputs/none`)).json(), "nothing");
    await refusal(await post("/Inputs/none", "1", "application/json"), 400, /Expected body and content-type to be empty/);
    await refusal(await post("/Inputs/none", undefined, "application/json"), 400, /Expected body and content-type to be empty/);
    assert.equal(await (await post("/Inputs/schema", '{"n":3}', "application/json")).json(), 3);
    await refusal(await post("/Inputs/schema", undefined, "application/json"), 400, /^input validation error: Empty body not allowed$/);
  });

  it("refuses malformed parameters with a 4xx naming the problem, and runs nothing for them", async () => {
    await refusal(await callJson(ingress, "/Greeter/greet/send?delay=ten", "x"), 400, /bad delay query parameter.*'ten'/);
    await refusal(await callJson(ingress, "/Greeter/greet/send?delay=99999999999999999999d", "x"), 400, /bad delay query parameter.*maximum of 7304484 days/);
    await refusal(await callJson(ingress, "/Greeter/greet/send?delay=", "x"), 400, /bad delay query parameter/);
    const zero = await callJson(ingress, "/Greeter/greet/send?delay=0", "x");
    assert.equal(zero.status, 202);

    await refusal(await fetch(`${ingress}/restate/attach/nonsense`), 400, /bad invocation id: .*'nonsense'/);
    await refusal(await fetch(`${ingress}/restate/invocation/inv_1short/output`), 400, /bad invocation id/);
    await refusal(await callJson(ingress, "/restate/output", { target: "invocation", invocationId: "inv_1!" }), 400, /bad invocation id/);
    await refusal(await callJson(ingress, "/Greeter/greet", "x", { "idempotency-key": "clé" }), 400, /^bad header idempotency-key/);
    await refusal(await callJson(ingress, "/Greeter/greet", "x", { "x-note": "naïve" }), 400, /^bad header x-note/);
    await refusal(await callJson(ingress, "/Counter/%FF/add", 1), 400, /cannot decode key/);
    await refusal(await callJson(ingress, "/Counter//add", 1), 400, /virtual object/);
    await refusal(await post("/restate/lookup", "{", "application/json"), 400, /^invalid lookup body/);
    await refusal(await callJson(ingress, "/restate/lookup", { target: "service" }), 400, /`target` must be one of/);
    await refusal(await callJson(ingress, "/restate/attach", { target: "workflow", workflowName: "Signup" }), 400, /missing field `workflowKey`/);
    await refusal(await callJson(ingress, "/restate/attach", { target: "workflow", workflowName: "Signup", workflowKey: "k", scope: "s" }), 400, /scoped invocations/);
  });
});

describe("input rules from manifest declarations", () => {
  const handler = (input: Parameters<typeof payloadSchema>[0]): HandlerSchema => ({ name: "h", ty: "SHARED", ...payloadSchema(input, undefined) });
  const accepts = (h: HandlerSchema, contentType: string | undefined, body: string): boolean => {
    try {
      validateInput(h, contentType, Buffer.from(body));
      return true;
    } catch (e) {
      assert.ok(e instanceof BadRequestError && e.httpStatus === 400, String(e));
      return false;
    }
  };

  it("undeclared input takes anything with a content type, or nothing; required input needs a content type", () => {
    const open = handler(undefined);
    assert.equal(accepts(open, undefined, ""), true);
    assert.equal(accepts(open, "image/png", "x"), true);
    assert.equal(accepts(open, undefined, "x"), false);
    const required = handler({ required: true, contentType: "application/json" });
    assert.equal(accepts(required, undefined, ""), false);
    assert.equal(accepts(required, "application/json", "1"), true);
    assert.equal(accepts(handler({ required: true }), "application/json", "1"), false);
    assert.equal(accepts(handler({ contentType: "application/json" }), "Application/JSON", "1"), false, "Restate matches case-sensitively");
  });

  it("refuses a manifest whose input content type cannot be matched", () => {
    const manifest = (contentType: string) => ({
      protocolMode: "BIDI_STREAM",
      minProtocolVersion: 5,
      maxProtocolVersion: 5,
      services: [{ name: "S", ty: "SERVICE", handlers: [{ name: "h", input: { contentType } }] }],
    });
    assert.throws(() => parseEndpointManifest(manifest("*/json")), (e: unknown) => e instanceof ManifestValidationError && /\*\/subtype/.test(e.message));
    assert.throws(() => parseEndpointManifest(manifest("json")), (e: unknown) => e instanceof ManifestValidationError && /one \//.test(e.message));
    assert.equal(parseEndpointManifest(manifest("text/*")).services[0].handlers[0].input?.contentType, "text/*");
  });
});
