#!/bin/sh
# Regenerates every committed generated folder from its .proto module, one buf template each.
# Extra arguments go to every `buf generate` (test/build/generated-code.test.ts passes `-o DIR`).
set -e
cd "$(dirname "$0")/.."
for template in buf.gen.yaml proto/reprise/buf.gen.yaml proto/restate-ctl/buf.gen.yaml; do
  node_modules/.bin/buf generate --template "$template" "$@"
done
