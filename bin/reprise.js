#!/usr/bin/env -S node --max-semi-space-size=64
// The young generation's semi-spaces may grow to 64 MiB (V8's default on 64-bit is 16): a server
// keeps every in-flight request's objects alive across several scavenges, so with small
// semi-spaces most of them are copied again and again and then promoted. Measured with the
// engine benches on 2 cores: a cluster's server CPU per call 10-20 % lower, a single node's up to
// 20 %. V8 reads the flag only when it creates the heap, hence the shebang; tests and benchmarks
// start this file with the same flags (test/support/reprise-server.ts reads them from this line).
// Runs the TypeScript CLI through tsx so users need no separate build step.
import { register } from "tsx/esm/api";
register();
await import("../src/cli/main.ts");
