#!/usr/bin/env bash
# Installs the real peers the integration tests run against (DESIGN.md, "Real
# peers"), from Debian's packages, when they are missing. Idempotent: a
# machine that has them all does nothing. Debian's packages start services
# where systemd runs; tests start their own, on free loopback ports.
set -euo pipefail
# binary -> Debian package
peers=(
  "prometheus:prometheus"
  "promtool:prometheus"
  "victoria-metrics:victoria-metrics"
  "vmagent:victoria-metrics"
  "prometheus-alertmanager:prometheus-alertmanager"
  "elastalert-test-rule:elastalert"
  "etcd:etcd-server"
  "prometheus-node-exporter:prometheus-node-exporter"
  "chromium:chromium"
  "git:git"
  "openssl:openssl"
  "rsyslogd:rsyslog"
  "s3cmd:s3cmd"
  "curl:curl"
  "flock:util-linux"
)
need=()
for p in "${peers[@]}"; do
  bin="${p%%:*}"; pkg="${p##*:}"
  if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$bin" ]; then need+=("$pkg"); fi
done
# rsyslog's Elasticsearch output is a module, not a binary.
[ -e /usr/lib/x86_64-linux-gnu/rsyslog/omelasticsearch.so ] || ls /usr/lib/*/rsyslog/omelasticsearch.so >/dev/null 2>&1 || need+=(rsyslog-elasticsearch)
if [ ${#need[@]} -eq 0 ]; then
  echo "peers: all present ($(prometheus --version 2>&1 | head -1))"
  exit 0
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if ! command -v apt-get >/dev/null 2>&1; then
  echo "peers: missing ${need[*]} and no apt-get here; install the Debian packages by hand" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "peers: installing ${need[*]} with apt-get"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "peers: $(prometheus --version 2>&1 | head -1)"
