#!/usr/bin/env bash
# Installs Debian's etcd (server + etcdctl) for the cluster-metadata tests when it is not on PATH.
# Idempotent; CI runs it on a fresh machine as root via `npm test`'s pretest step.
set -euo pipefail
if command -v etcd >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "reprise: etcd is not installed and this is not root; run 'sudo apt-get install -y etcd-server etcd-client' and retry" >&2
  exit 1
fi
echo "reprise: installing etcd-server from Debian (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends etcd-server etcd-client >/dev/null
# The package may start a system etcd on the default ports; tests start their own on free ports.
if command -v systemctl >/dev/null 2>&1; then systemctl stop etcd >/dev/null 2>&1 || true; fi
command -v etcd >/dev/null
