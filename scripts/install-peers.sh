#!/usr/bin/env bash
# Installs the real peers the integration tests run against (DESIGN.md, "Real
# peers"), from Debian's packages, when they are missing. Idempotent: a
# machine that has them does nothing.
set -euo pipefail
need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v victoria-metrics >/dev/null 2>&1 || need+=(victoria-metrics)
if [ ${#need[@]} -eq 0 ]; then
  echo "peers: all present ($(prometheus --version 2>&1 | head -1); victoria-metrics $(dpkg-query -W -f="\${Version}" victoria-metrics 2>/dev/null))"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "peers: missing ${need[*]} and no apt-get here; install the Debian packages by hand" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "peers: installing ${need[*]} with apt-get"
$sudo apt-get update -qq
# Debian's packages start services where systemd runs; tests start their own on free ports.
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "peers: $(prometheus --version 2>&1 | head -1)"
