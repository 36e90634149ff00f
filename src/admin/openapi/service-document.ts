import type { HandlerSchema, ServiceSchema } from "../../schema/schema.ts";

type Json = Record<string, unknown>;

const INGRESS_DOCS = "https://docs.restate.dev/invoke/http";

/**
 * The OpenAPI 3.1 document of one service's ingress API (`GET /services/{name}/openapi`), laid out
 * as restate-server 1.7 lays it out: for each public handler a call and a send route, and the
 * routes to attach to or read the output of a running invocation (by idempotency key, or for a
 * workflow by its key); request and response bodies typed by the JSON schemas the handlers declared.
 */
export function serviceOpenApi(service: ServiceSchema, ingressEndpoint?: string): Json {
  const keyed = service.ty !== "SERVICE";
  const workflow = service.ty === "WORKFLOW";
  const prefix = `${encodeURIComponent(service.name)}${keyed ? "/{key}" : ""}`;
  const paths: Record<string, Json> = {};
  const schemas: Json = { RestateError: RESTATE_ERROR };
  for (const h of service.handlers.filter((x) => !(x.ingressPrivate ?? false))) {
    const handler = encodeURIComponent(h.name);
    if (h.inputJsonSchema !== undefined) schemas[`${h.name}Request`] = h.inputJsonSchema;
    if (h.outputJsonSchema !== undefined) schemas[`${h.name}Response`] = h.outputJsonSchema;
    const pathParams = keyed ? [ref("parameters", "key")] : [];
    const idempotency = workflow ? [] : [ref("parameters", "idempotencyKeyHeader")];
    const body = requestBody(h);
    const output = { description: "", content: outputContent(h) };
    paths[`/restate/call/${prefix}/${handler}`] = {
      post: {
        summary: h.name,
        description: `Call ${service.name} handler ${h.name} and wait for response`,
        operationId: h.name,
        parameters: [...pathParams, ...idempotency],
        ...(body ? { requestBody: body } : {}),
        responses: { "200": output, default: ref("responses", "GenericError") },
      },
    };
    paths[`/restate/send/${prefix}/${handler}`] = {
      post: {
        summary: h.name,
        description: `Send request to ${service.name} handler ${h.name}`,
        operationId: `${h.name}Send`,
        tags: ["Send"],
        parameters: [...pathParams, ...idempotency, ref("parameters", "delay")],
        ...(body ? { requestBody: body } : {}),
        responses: { "200": ref("responses", "Send"), "202": ref("responses", "Send"), default: ref("responses", "GenericError") },
      },
    };
    if (workflow && h.ty === "WORKFLOW") {
      paths[`/restate/workflow/${encodeURIComponent(service.name)}/{key}/attach`] = attach(h, "Attach", `Attach to the running instance of ${service.name}/${h.name} workflow and wait to finish`, [ref("parameters", "key")], output);
      paths[`/restate/workflow/${encodeURIComponent(service.name)}/{key}/output`] = attach(h, "Get Output", `Get output of the ${service.name}/${h.name} workflow`, [ref("parameters", "key")], output);
    } else if (!workflow) {
      const params = [...pathParams, ref("parameters", "idempotencyKeyPath")];
      const base = `/restate/invocation/${prefix}/${handler}/{idempotencyKey}`;
      paths[`${base}/attach`] = attach(h, "Attach", `Attach to a running instance of ${service.name}/${h.name} using the idempotency key and wait to finish`, params, output);
      paths[`${base}/output`] = attach(h, "Get Output", `Get output of a running instance of ${service.name}/${h.name} using idempotency key`, params, output);
    }
  }
  return {
    openapi: "3.1.0",
    info: { title: service.name, version: String(service.revision), ...(service.documentation ? { description: service.documentation } : {}) },
    ...(ingressEndpoint ? { servers: [{ url: ingressEndpoint, description: "Reprise ingress URL" }] } : {}),
    tags: TAGS,
    paths,
    components: { parameters: PARAMETERS, responses: RESPONSES, schemas },
  };
}

function attach(h: HandlerSchema, tag: "Attach" | "Get Output", description: string, parameters: Json[], output: Json): Json {
  const outputRoute = tag === "Get Output";
  return {
    get: {
      summary: h.name,
      description,
      operationId: `${h.name}${outputRoute ? "Output" : "Attach"}`,
      tags: [tag],
      parameters,
      responses: {
        "200": output,
        "404": ref("responses", "InvocationNotFoundError"),
        ...(outputRoute ? { "470": ref("responses", "InvocationNotReadyError") } : {}),
        default: ref("responses", "GenericError"),
      },
    },
  };
}

/** No request body for a handler that takes no input; a JSON schema where the handler declared one. */
function requestBody(h: HandlerSchema): Json | undefined {
  if (h.inputContentType === undefined) return undefined;
  const schema = h.inputJsonSchema !== undefined ? { schema: ref("schemas", `${h.name}Request`) } : {};
  return { required: h.inputRequired, content: { [h.inputContentType]: schema } };
}

function outputContent(h: HandlerSchema): Json | undefined {
  if (h.outputContentType === undefined) return undefined;
  return { [h.outputContentType]: h.outputJsonSchema !== undefined ? { schema: ref("schemas", `${h.name}Response`) } : {} };
}

function ref(kind: "parameters" | "responses" | "schemas", name: string): Json {
  return { $ref: `#/components/${kind}/${name}` };
}

const TAGS = [
  { name: "Request Response", description: "Request response to handler", externalDocs: { url: INGRESS_DOCS } },
  { name: "Send", description: "Send to handler", externalDocs: { url: INGRESS_DOCS } },
  { name: "Attach", description: "Attach to invocation", externalDocs: { url: INGRESS_DOCS } },
  { name: "Get Output", description: "Get invocation output", externalDocs: { url: INGRESS_DOCS } },
];

const STRING = { type: "string" };

const PARAMETERS = {
  key: { name: "key", in: "path", required: true, schema: STRING },
  idempotencyKeyHeader: {
    name: "idempotency-key",
    in: "header",
    required: false,
    description: "Idempotency key to execute the request: a repeated request with the same key gets the first one's result.",
    schema: STRING,
  },
  idempotencyKeyPath: { name: "idempotencyKey", in: "path", required: true, description: "Idempotency key the original request was made with.", schema: STRING },
  delay: { name: "delay", in: "query", required: false, description: "Run the invocation after this delay (e.g. `10s`, `PT1H`).", example: "10s", schema: STRING },
};

const RESTATE_ERROR = {
  title: "RestateError",
  description: "The error of a failed call: raised by the ingress, or the terminal error of the invocation",
  type: "object",
  required: ["message"],
  properties: {
    code: { type: "number", title: "error code" },
    message: { type: "string", title: "Error message" },
    source: { type: "string", enum: ["ingress", "invocation"], title: "Error source" },
    metadata: { type: "object", additionalProperties: STRING },
    stacktrace: STRING,
  },
};

const RESPONSES = {
  GenericError: { description: "Error response", content: { "application/json": { schema: ref("schemas", "RestateError") } } },
  InvocationNotFoundError: { description: "Invocation not found", content: { "application/json": { schema: ref("schemas", "RestateError") } } },
  InvocationNotReadyError: { description: "Invocation still running, output is not ready yet", content: { "application/json": { schema: ref("schemas", "RestateError") } } },
  Send: {
    description: "Send response",
    content: {
      "application/json": {
        schema: {
          title: "RestateSendResponse",
          type: "object",
          required: ["invocationId", "status"],
          properties: {
            invocationId: STRING,
            status: { type: "string", enum: ["Accepted", "PreviouslyAccepted"] },
            executionTime: { type: "string", format: "date-time", description: "When the invocation runs, when sent with a delay" },
          },
        },
      },
    },
  },
};
