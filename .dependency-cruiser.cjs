// The layering of src/, checked by `npm run check:layers` (part of `npm run typecheck` and CI).
// Each folder may import only the folders listed before it; docs/architecture.md explains the order.
const LAYERS = [
  "types",
  "common",
  "protocol",
  "metadata",
  "net",
  "schema",
  "bifrost",
  "log-server",
  "storage",
  "snapshots",
  "partition",
  "invoker",
  "ingress",
  "admin",
  "cluster",
  "cli",
];

const upward = LAYERS.map((layer, i) => ({
  name: `layer-${layer}`,
  comment: `src/${layer}/ may import only ${LAYERS.slice(0, i).join(", ") || "nothing in src/"} (lower layers)`,
  severity: "error",
  from: { path: `^src/${layer}/` },
  to: { path: `^src/(${LAYERS.slice(i + 1).join("|") || "$^"})/` },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: "layer-unknown-folder",
      comment: "every folder under src/ must have a place in LAYERS",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^src/", pathNot: `^src/(${LAYERS.join("|")})/` },
    },
    {
      name: "bifrost-facade-above-loglets",
      comment: "Bifrost's core (src/bifrost/*.ts) knows loglets only through the Loglet and provider interfaces",
      severity: "error",
      from: { path: "^src/bifrost/[^/]+$" },
      to: { path: "^src/bifrost/(local|replicated)/" },
    },
    {
      name: "loglets-independent",
      comment: "the local and the replicated loglet do not import each other",
      severity: "error",
      from: { path: "^src/bifrost/(local|replicated)/" },
      to: { path: "^src/bifrost/(local|replicated)/", pathNot: "^src/bifrost/$1/" },
    },
    {
      name: "state-machine-pure",
      comment: "apply code is a pure function of (store, record): no clock, randomness, network, files or processes",
      severity: "error",
      from: { path: "^src/partition/state-machine/" },
      to: {
        path: "^(node:)?(fs|fs/promises|net|http|http2|https|dgram|dns|child_process|worker_threads|crypto|timers|timers/promises|perf_hooks|os|process|cluster)$",
        dependencyTypes: ["core"],
      },
    },
    {
      name: "no-circular",
      comment: "no import cycles between modules",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "src-not-from-tests",
      comment: "production code never imports tests, benchmarks or the chaos harness",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench|chaos)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".mjs"] },
  },
};
