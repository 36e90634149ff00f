/** The JSON bodies of Reprise's admin API, as component schemas of its OpenAPI document. */

type Json = Record<string, unknown>;

const string = (description?: string): Json => ({ type: "string", ...(description ? { description } : {}) });
const boolean = (description?: string): Json => ({ type: "boolean", ...(description ? { description } : {}) });
const integer = (description?: string): Json => ({ type: "integer", minimum: 0, ...(description ? { description } : {}) });
const nullable = (schema: Json): Json => ({ ...schema, type: [schema.type as string, "null"] });
const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const object = (required: readonly string[], properties: Record<string, Json>, description?: string): Json => ({
  type: "object",
  ...(description ? { description } : {}),
  ...(required.length > 0 ? { required } : {}),
  properties,
});
const stringMap = (description: string): Json => ({ type: "object", description, additionalProperties: { type: "string" } });
const duration = (description: string): Json => string(`${description} A duration such as \`1h\`, \`30 minutes\` or \`PT1H\`.`);

const RETRY_POLICY = object([], {
  initial_interval: duration("Interval before the first retry."),
  exponentiation_factor: { type: "number" },
  max_attempts: integer("Attempts in all, the first included."),
  max_interval: duration("Longest interval between retries."),
  on_max_attempts: { type: "string", enum: ["Pause", "Kill"] },
});

const HANDLER = object(
  ["name", "input_description", "output_description"],
  {
    name: string(),
    ty: { type: "string", enum: ["Exclusive", "Shared", "Workflow"] },
    input_description: string("What the handler accepts."),
    output_description: string("What the handler answers."),
    input_json_schema: { description: "JSON schema of the input, as the handler declared it." },
    output_json_schema: { description: "JSON schema of the output, as the handler declared it." },
    public: boolean("Callable through the ingress."),
    documentation: string(),
    metadata: stringMap("Metadata the SDK propagated."),
    inactivity_timeout: duration(""),
    abort_timeout: duration(""),
    journal_retention: duration(""),
    idempotency_retention: duration(""),
    retry_policy: RETRY_POLICY,
  },
  "A handler of a registered service.",
);

const SERVICE = object(
  ["name", "ty", "handlers", "deployment_id", "revision"],
  {
    name: string(),
    ty: { type: "string", enum: ["Service", "VirtualObject", "Workflow"] },
    handlers: { type: "array", items: ref("HandlerMetadata") },
    deployment_id: string("The deployment serving the latest revision."),
    revision: integer(),
    public: boolean(),
    idempotency_retention: duration(""),
    workflow_completion_retention: duration("Workflows only."),
    journal_retention: duration(""),
    inactivity_timeout: duration(""),
    abort_timeout: duration(""),
    documentation: string(),
    metadata: stringMap("Metadata the SDK propagated."),
  },
  "A registered service (its latest revision).",
);

const DEPLOYMENT_FIELDS: Record<string, Json> = {
  id: string(),
  uri: string(),
  protocol_type: { type: "string", enum: ["BidiStream", "RequestResponse"] },
  http_version: { type: "string", enum: ["HTTP/2.0", "HTTP/1.1"] },
  additional_headers: stringMap("Headers sent with every request to the deployment."),
  metadata: stringMap("Labels given at registration."),
  created_at: { type: "string", format: "date-time" },
  min_protocol_version: integer(),
  max_protocol_version: integer(),
  sdk_version: string(),
};

export const ADMIN_SCHEMAS: Readonly<Record<string, Json>> = {
  Error: object(
    ["code", "message"],
    { code: { type: "integer", description: "The HTTP status." }, message: string("What was wrong, naming the parameter or object."), error_code: string("A stable name for the error.") },
    "Every error answer.",
  ),
  VersionInformation: object(["version", "min_admin_api_version", "max_admin_api_version", "features"], {
    version: string(),
    min_admin_api_version: integer(),
    max_admin_api_version: integer(),
    ingress_endpoint: string("The ingress URL clients (and the web UI) call."),
    features: { type: "object", additionalProperties: { type: "boolean" } },
  }),
  RequestIdentity: object(["scheme", "public_key"], { scheme: { type: "string", enum: ["v1"] }, public_key: string("`publickeyv1_...`") }),
  ClusterHealthResponse: object(["cluster_name"], {
    cluster_name: string(),
    metadata_cluster_health: nullable(object(["members"], { members: { type: "array", items: integer() } })),
  }),
  HandlerMetadata: HANDLER,
  ServiceMetadata: SERVICE,
  ListServicesResponse: object(["services"], { services: { type: "array", items: ref("ServiceMetadata") } }),
  ListServiceHandlersResponse: object(["handlers"], { handlers: { type: "array", items: ref("HandlerMetadata") } }),
  ModifyServiceRequest: object([], {
    public: nullable(boolean()),
    idempotency_retention: nullable(duration("")),
    workflow_completion_retention: nullable(duration("Workflows only.")),
    journal_retention: nullable(duration("")),
    inactivity_timeout: nullable(duration("")),
    abort_timeout: nullable(duration("")),
  }),
  ModifyServiceStateRequest: object(["object_key", "new_state"], {
    object_key: string("The virtual object or workflow key."),
    new_state: { type: "object", description: "State key → value as an array of bytes.", additionalProperties: { type: "array", items: { type: "integer", minimum: 0, maximum: 255 } } },
    version: nullable(string("Only if the key's state still has this version.")),
  }),
  RegisterDeploymentRequest: object(["uri"], {
    uri: string("The deployment's URL."),
    additional_headers: stringMap("Headers for discovery and every invocation."),
    use_http_11: boolean(),
    force: boolean("Overwrite a deployment at the same address."),
    breaking: boolean("Allow a service to change its type."),
    dry_run: boolean("Discover and check, change nothing."),
    metadata: stringMap("Labels."),
  }),
  RegisterDeploymentResponse: object(["id", "services"], {
    id: string(),
    services: { type: "array", items: ref("ServiceMetadata") },
    min_protocol_version: integer(),
    max_protocol_version: integer(),
    sdk_version: string(),
  }),
  DetailedDeploymentResponse: object(["id", "uri", "services"], { ...DEPLOYMENT_FIELDS, services: { type: "array", items: ref("ServiceMetadata") } }),
  ListDeploymentsResponse: object(["deployments"], { deployments: { type: "array", items: ref("DetailedDeploymentResponse") } }),
  UpdateDeploymentRequest: object([], {
    uri: string(),
    additional_headers: stringMap("Replaces the headers."),
    use_http_11: boolean(),
    overwrite: boolean("Take the services from the rediscovered manifest too."),
    dry_run: boolean(),
  }),
  RestartAsNewInvocationResponse: object(["new_invocation_id"], { new_invocation_id: string() }),
  QueryRequest: object(["query"], { query: string("SQL, e.g. SELECT * FROM sys_invocation") }),
  CreateSnapshotRequest: object([], { partition: nullable(integer("Only this partition.")) }),
};
