#!/usr/bin/env bash
# Installs what the chaos harness (npm run chaos, test/chaos) needs beyond etcd: nft (nftables)
# for the network faults and ip/ss (iproute2) to bring up loopback and list sockets inside the
# harness's network namespace; unshare comes with util-linux. Idempotent: installs only what is
# missing, from Debian with apt-get.
set -euo pipefail
bash "$(dirname "$0")/install-etcd.sh"
missing=()
command -v nft >/dev/null 2>&1 || missing+=(nftables)
{ command -v ip >/dev/null 2>&1 && command -v ss >/dev/null 2>&1; } || missing+=(iproute2)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "reprise: the chaos harness needs ${missing[*]} and this is not root; run 'sudo apt-get install -y ${missing[*]}' and retry" >&2
  exit 1
fi
echo "reprise: installing ${missing[*]} from Debian (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
command -v nft >/dev/null && command -v ip >/dev/null && command -v ss >/dev/null && command -v unshare >/dev/null
