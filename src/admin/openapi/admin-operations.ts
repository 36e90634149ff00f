/**
 * Every operation of Reprise's admin API, as its OpenAPI document (`GET /openapi`) lists it. The
 * operations restate-server 1.7 has keep its paths, operation ids and status codes; `reprise`
 * marks those Restate does not have. `admin-document.ts` builds the document from this list and
 * the routes the server really mounts.
 */

type Json = Record<string, unknown>;

export interface AdminOperation {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** OpenAPI path template, e.g. `/services/{service}`. */
  readonly path: string;
  readonly operationId: string;
  readonly tag: string;
  readonly summary: string;
  /** A Reprise extension Restate's admin API does not have. */
  readonly reprise?: true;
  /** Answers 501 naming what is missing (Kafka, Restate's experimental limits and virtual queues). */
  readonly notImplemented?: true;
  readonly query?: readonly QueryParameter[];
  /** Component schema of the JSON request body. */
  readonly body?: string;
  readonly bodyRequired?: boolean;
  /** Status code → component schema of a JSON answer, `""` for an answer without a JSON body. */
  readonly ok: Readonly<Record<string, string>>;
  readonly errors?: readonly number[];
}

export interface QueryParameter {
  readonly name: string;
  readonly description: string;
  readonly schema: Json;
}

/** Values for path parameters: they fill the document's examples and let a template be matched to a route's pattern. */
export const PATH_PARAMETERS: Readonly<Record<string, { readonly description: string; readonly example: string; readonly schema: Json }>> = {
  service: { description: "Fully qualified service name.", example: "Greeter", schema: { type: "string" } },
  handler: { description: "Handler name.", example: "greet", schema: { type: "string" } },
  deployment: { description: "Deployment id.", example: "dp_14LsPzKiMvj3RbQHPgaCLZH", schema: { type: "string" } },
  invocation_id: { description: "Invocation id.", example: "inv_1gdJBtdVEcM942bjcDmb1c1khoaJe11Hbz", schema: { type: "string" } },
  partition_id: { description: "Partition id.", example: "0", schema: { type: "integer", minimum: 0 } },
  cluster_name: { description: "Kafka cluster name.", example: "my-cluster", schema: { type: "string" } },
  subscription: { description: "Subscription id.", example: "sub_11XHoawrCVkZjRwhHRNJtIn", schema: { type: "string" } },
  vqueue_id: { description: "Virtual queue id.", example: "vq_1", schema: { type: "string" } },
  asset: { description: "Bundled web UI file.", example: "app.js", schema: { type: "string", enum: ["app.js", "app.css"] } },
  page: { description: "Any page of the web UI (the client routes on the path).", example: "invocations", schema: { type: "string" } },
};

const DEPLOYMENT_ERRORS = [400, 404, 405, 409, 500];
const INVOCATION_ERRORS = [400, 404, 409, 503];
const KAFKA = "Kafka subscriptions are not implemented by Reprise.";

const op = (o: AdminOperation): AdminOperation => o;
const unsupported = (method: AdminOperation["method"], path: string, operationId: string, tag: string, summary: string): AdminOperation =>
  op({ method, path, operationId, tag, summary: `${summary} (${tag === "kafka_cluster" || tag === "subscription" ? KAFKA : "Not implemented by Reprise."})`, notImplemented: true, ok: {}, errors: [501] });

export const ADMIN_OPERATIONS: readonly AdminOperation[] = [
  op({ method: "GET", path: "/health", operationId: "health", tag: "health", summary: "Health check endpoint", ok: { "200": "" } }),
  op({ method: "GET", path: "/version", operationId: "version", tag: "version", summary: "Server version, supported admin API versions and the ingress endpoint", ok: { "200": "VersionInformation" } }),
  op({ method: "GET", path: "/openapi", operationId: "openapi", tag: "openapi", summary: "This document", reprise: true, ok: { "200": "" } }),
  op({ method: "GET", path: "/metrics", operationId: "metrics", tag: "observability", summary: "Prometheus metrics (text exposition format)", reprise: true, ok: { "200": "" } }),
  op({
    method: "GET",
    path: "/request-identity",
    operationId: "request_identity",
    tag: "deployment",
    summary: "The public key deployments verify Reprise's signed requests with",
    reprise: true,
    ok: { "200": "RequestIdentity" },
    errors: [404],
  }),
  op({ method: "GET", path: "/cluster-health", operationId: "cluster_health", tag: "cluster_health", summary: "Cluster name and metadata cluster members", ok: { "200": "ClusterHealthResponse" }, errors: [503] }),
  op({ method: "GET", path: "/cluster/status", operationId: "cluster_status", tag: "cluster", summary: "Nodes, partitions and logs as this node sees them", reprise: true, ok: { "200": "" }, errors: [503] }),

  op({ method: "GET", path: "/deployments", operationId: "list_deployments", tag: "deployment", summary: "List deployments", ok: { "200": "ListDeploymentsResponse" } }),
  op({
    method: "POST",
    path: "/deployments",
    operationId: "create_deployment",
    tag: "deployment",
    summary: "Register a deployment: discover its services (force, breaking, dry_run, use_http_11, metadata)",
    body: "RegisterDeploymentRequest",
    bodyRequired: true,
    ok: { "200": "RegisterDeploymentResponse", "201": "RegisterDeploymentResponse" },
    errors: DEPLOYMENT_ERRORS,
  }),
  op({ method: "GET", path: "/deployments/{deployment}", operationId: "get_deployment", tag: "deployment", summary: "Get a deployment", ok: { "200": "DetailedDeploymentResponse" }, errors: DEPLOYMENT_ERRORS }),
  op({
    method: "PATCH",
    path: "/deployments/{deployment}",
    operationId: "update_deployment",
    tag: "deployment",
    summary: "Change a deployment's address or headers and rediscover it",
    body: "UpdateDeploymentRequest",
    bodyRequired: true,
    ok: { "200": "DetailedDeploymentResponse" },
    errors: DEPLOYMENT_ERRORS,
  }),
  op({
    method: "PUT",
    path: "/deployments/{deployment}",
    operationId: "update_deployment_put",
    tag: "deployment",
    summary: "PATCH as admin API v1/v2 clients send it (405 from v3 on)",
    reprise: true,
    body: "UpdateDeploymentRequest",
    bodyRequired: true,
    ok: { "200": "DetailedDeploymentResponse" },
    errors: DEPLOYMENT_ERRORS,
  }),
  op({
    method: "DELETE",
    path: "/deployments/{deployment}",
    operationId: "delete_deployment",
    tag: "deployment",
    summary: "Remove a deployment (force=true also while it serves services or has pinned invocations)",
    query: [{ name: "force", description: "Remove it even while in use.", schema: { type: "boolean" } }],
    ok: { "202": "" },
    errors: DEPLOYMENT_ERRORS,
  }),

  op({ method: "GET", path: "/services", operationId: "list_services", tag: "service", summary: "List services", ok: { "200": "ListServicesResponse" } }),
  op({ method: "GET", path: "/services/{service}", operationId: "get_service", tag: "service", summary: "Get a service", ok: { "200": "ServiceMetadata" }, errors: [404] }),
  op({
    method: "PATCH",
    path: "/services/{service}",
    operationId: "modify_service",
    tag: "service",
    summary: "Change a service's settings (public, retentions, timeouts); a new registration takes them from the manifest again",
    body: "ModifyServiceRequest",
    bodyRequired: true,
    ok: { "200": "ServiceMetadata" },
    errors: [400, 404],
  }),
  op({
    method: "POST",
    path: "/services/{service}/state",
    operationId: "modify_service_state",
    tag: "service",
    summary: "Replace the state of a virtual object or workflow key",
    body: "ModifyServiceStateRequest",
    bodyRequired: true,
    ok: { "202": "" },
    errors: [400, 404, 409],
  }),
  op({ method: "GET", path: "/services/{service}/openapi", operationId: "get_service_openapi", tag: "service", summary: "OpenAPI 3.1 document of the service's ingress API", ok: { "200": "" }, errors: [404] }),
  op({ method: "GET", path: "/services/{service}/handlers", operationId: "list_service_handlers", tag: "service_handler", summary: "List a service's handlers", ok: { "200": "ListServiceHandlersResponse" }, errors: [404] }),
  op({ method: "GET", path: "/services/{service}/handlers/{handler}", operationId: "get_service_handler", tag: "service_handler", summary: "Get a handler", ok: { "200": "HandlerMetadata" }, errors: [404] }),

  op({
    method: "DELETE",
    path: "/invocations/{invocation_id}",
    operationId: "delete_invocation",
    tag: "invocation",
    summary: "Cancel, kill or purge an invocation (deprecated form of the PATCH operations)",
    query: [{ name: "mode", description: "cancel (default), kill or purge.", schema: { type: "string", enum: ["cancel", "kill", "purge"] } }],
    ok: { "202": "" },
    errors: INVOCATION_ERRORS,
  }),
  op({ method: "PATCH", path: "/invocations/{invocation_id}/cancel", operationId: "cancel_invocation", tag: "invocation", summary: "Cancel an invocation", ok: { "200": "", "202": "" }, errors: INVOCATION_ERRORS }),
  op({ method: "PATCH", path: "/invocations/{invocation_id}/kill", operationId: "kill_invocation", tag: "invocation", summary: "Kill an invocation and the invocations it called", ok: { "200": "" }, errors: INVOCATION_ERRORS }),
  op({ method: "PATCH", path: "/invocations/{invocation_id}/purge", operationId: "purge_invocation", tag: "invocation", summary: "Remove a completed invocation", ok: { "200": "" }, errors: INVOCATION_ERRORS }),
  op({
    method: "PATCH",
    path: "/invocations/{invocation_id}/purge-journal",
    operationId: "purge_journal",
    tag: "invocation",
    summary: "Remove a completed invocation's journal, keeping its status and result",
    ok: { "200": "" },
    errors: INVOCATION_ERRORS,
  }),
  op({ method: "PATCH", path: "/invocations/{invocation_id}/pause", operationId: "pause_invocation", tag: "invocation", summary: "Pause a running invocation", ok: { "200": "", "202": "" }, errors: INVOCATION_ERRORS }),
  op({
    method: "PATCH",
    path: "/invocations/{invocation_id}/resume",
    operationId: "resume_invocation",
    tag: "invocation",
    summary: "Resume a paused or suspended invocation, or retry a backing-off one now",
    query: [{ name: "deployment", description: "keep (default), latest, or a deployment id to run it on.", schema: { type: "string" } }],
    ok: { "200": "" },
    errors: [...INVOCATION_ERRORS, 425],
  }),
  op({
    method: "PATCH",
    path: "/invocations/{invocation_id}/restart-as-new",
    operationId: "restart_as_new_invocation",
    tag: "invocation",
    summary: "Start a new invocation from a completed one's input, keeping a prefix of its journal",
    query: [
      { name: "from", description: "Journal index to restart from (0: from the start).", schema: { type: "integer", minimum: 0 } },
      { name: "deployment", description: "keep, latest (default), or a deployment id.", schema: { type: "string" } },
    ],
    ok: { "200": "RestartAsNewInvocationResponse" },
    errors: [...INVOCATION_ERRORS, 410, 422, 425],
  }),

  op({
    method: "POST",
    path: "/query",
    operationId: "query",
    tag: "introspection",
    summary: "SQL over the system tables: JSON rows for accept: application/json, else an Arrow IPC stream",
    body: "QueryRequest",
    bodyRequired: true,
    ok: { "200": "" },
    errors: [400, 500, 503],
  }),

  op({ method: "POST", path: "/snapshots", operationId: "create_snapshots", tag: "snapshot", summary: "Snapshot a partition, or every partition led here", reprise: true, body: "CreateSnapshotRequest", ok: { "200": "" }, errors: [400, 503] }),
  op({ method: "GET", path: "/snapshots", operationId: "list_snapshots", tag: "snapshot", summary: "Applied and archived LSN and trim point of each partition replica", reprise: true, ok: { "200": "" } }),
  op({
    method: "POST",
    path: "/partitions/{partition_id}/verify",
    operationId: "verify_partition",
    tag: "partition",
    summary: "Rebuild a partition from its log and compare it with this node's replica",
    reprise: true,
    ok: { "200": "" },
    errors: [404, 409],
  }),

  op({ method: "GET", path: "/", operationId: "ui_redirect", tag: "ui", summary: "Redirects to the web UI", reprise: true, ok: { "302": "" } }),
  op({ method: "GET", path: "/ui", operationId: "ui", tag: "ui", summary: "The web UI", reprise: true, ok: { "200": "" } }),
  op({ method: "GET", path: "/ui/{page}", operationId: "ui_page", tag: "ui", summary: "A page of the web UI", reprise: true, ok: { "200": "" } }),
  op({ method: "GET", path: "/ui/assets/{asset}", operationId: "ui_asset", tag: "ui", summary: "The web UI's bundled script and styles", reprise: true, ok: { "200": "" } }),

  unsupported("GET", "/kafka-clusters", "list_kafka_clusters", "kafka_cluster", "List Kafka clusters"),
  unsupported("POST", "/kafka-clusters", "create_kafka_cluster", "kafka_cluster", "Create a Kafka cluster"),
  unsupported("GET", "/kafka-clusters/{cluster_name}", "get_kafka_cluster", "kafka_cluster", "Get a Kafka cluster"),
  unsupported("PATCH", "/kafka-clusters/{cluster_name}", "update_kafka_cluster", "kafka_cluster", "Update a Kafka cluster"),
  unsupported("DELETE", "/kafka-clusters/{cluster_name}", "delete_kafka_cluster", "kafka_cluster", "Delete a Kafka cluster"),
  unsupported("GET", "/subscriptions", "list_subscriptions", "subscription", "List subscriptions"),
  unsupported("POST", "/subscriptions", "create_subscription", "subscription", "Create a subscription"),
  unsupported("GET", "/subscriptions/{subscription}", "get_subscription", "subscription", "Get a subscription"),
  unsupported("DELETE", "/subscriptions/{subscription}", "delete_subscription", "subscription", "Delete a subscription"),
  unsupported("PUT", "/limits/rules", "upsert_rules", "rule", "Upsert concurrency limit rules"),
  unsupported("POST", "/limits/rules/bulk-delete", "bulk_delete_rules", "rule", "Delete concurrency limit rules"),
  unsupported("POST", "/vqueues/{vqueue_id}/pause", "pause_vqueue", "vqueue", "Pause a virtual queue"),
  unsupported("POST", "/vqueues/{vqueue_id}/resume", "resume_vqueue", "vqueue", "Resume a virtual queue"),
];
