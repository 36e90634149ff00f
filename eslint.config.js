// ESLint here guards one thing the type checker cannot: apply code stays deterministic. Every
// replica and every replay must derive the same rows from the same records, so the state machine
// reads time, randomness and ids only from the records it applies (docs/architecture.md, "Determinism").
import tseslint from "typescript-eslint";

const nondeterministic = "apply code must take time, randomness and ids from the record it applies";

export default tseslint.config(
  { files: ["src/**/*.ts"], languageOptions: { parser: tseslint.parser } },
  {
    files: ["src/partition/state-machine/**/*.ts"],
    rules: {
      "no-restricted-properties": [
        "error",
        { object: "Date", property: "now", message: nondeterministic },
        { object: "Math", property: "random", message: nondeterministic },
        { object: "performance", property: "now", message: nondeterministic },
        { object: "process", property: "hrtime", message: nondeterministic },
        { object: "crypto", property: "randomUUID", message: nondeterministic },
        { object: "crypto", property: "getRandomValues", message: nondeterministic },
      ],
      "no-restricted-globals": [
        "error",
        ...["performance", "process", "fetch", "setTimeout", "setInterval", "setImmediate", "queueMicrotask", "crypto"].map(
          (name) => ({ name, message: `${name}: ${nondeterministic}; no I/O or scheduling in apply` }),
        ),
      ],
      "no-restricted-syntax": [
        "error",
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: nondeterministic },
        { selector: "CallExpression[callee.name='Date']", message: nondeterministic },
        { selector: "AwaitExpression", message: "apply is synchronous: one record, one transaction, no I/O" },
      ],
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["node:*", "fs", "fs/*", "net", "http", "http2", "https", "crypto", "child_process", "timers", "timers/*", "os", "dns"],
              message: "apply code does no I/O and reads no clock or randomness",
            },
          ],
        },
      ],
    },
  },
);
