#!/usr/bin/env bash
# Installs Debian's Chromium for the web UI's browser tests (test/admin/ui, driven by playwright-core)
# when it is not there. Idempotent; CI runs it on a fresh machine as root via `npm test`'s pretest step.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "reprise: chromium is not installed and this is not root; run 'sudo apt-get install -y chromium' and retry" >&2
  exit 1
fi
echo "reprise: installing chromium from Debian (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# A font for the screenshots the tests save (Chromium only recommends one).
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium >/dev/null
