#!/usr/bin/env bash
# Installs the Debian packages that the integration tests start as real services:
#   redis-server      key-value store (resource store, enrichment cache, locks)
#   kcat              librdkafka's mock cluster, a Kafka-protocol broker for tests
#   victoria-metrics  time-series server accepting the InfluxDB v2 write API (and vmauth)
#   snmpd snmp        net-snmp's real agent and command-line tools
#   snmpsim           snmpsimd, serves .snmprec recordings
#   openssl           makes the throwaway CA and certificates of the TLS tests
#   prometheus        Prometheus server: remote-write receiver and scraper of the Prometheus tests
#                     (and, in the compare benchmark, scraping snmp_exporter)
#   influxdb          InfluxDB 1.x: the InfluxDB consumer's v1 API and the dashboards' InfluxQL
#   python3-grpcio python3-grpc-tools  the gNMI test target (Python, its own compiled definitions)
#   chromium          headless browser the live console's browser test drives (playwright-core)
# With --bench, also what the benchmarks compare against:
#   prometheus-snmp-exporter  Prometheus snmp_exporter (the snmp and compare benchmarks' yardstick)
#   collectd-core             collectd and its snmp plugin, the compare benchmark's other peer
# Does nothing when every package is present. Needs root or passwordless sudo to
# install; otherwise exits 1 printing the exact command to run.
set -euo pipefail

PACKAGES=(redis-server kcat victoria-metrics snmpd snmp snmpsim openssl prometheus influxdb chromium python3-grpcio python3-grpc-tools)
who="panoptes tests"
for arg in "$@"; do
  case "$arg" in
    --bench)
      PACKAGES+=(prometheus-snmp-exporter collectd-core)
      who="panoptes bench"
      ;;
    *)
      echo "install-test-deps.sh: unknown argument: $arg (expected --bench)" >&2
      exit 2
      ;;
  esac
done

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

install_cmd="apt-get install -y --no-install-recommends ${missing[*]}"

if [[ $(id -u) -eq 0 ]]; then
  run=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run=(sudo -n)
else
  echo "${who}: missing Debian packages: ${missing[*]}" >&2
  echo "Install them as root with:" >&2
  echo "  sudo apt-get update && sudo ${install_cmd}" >&2
  exit 1
fi

echo "${who}: installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Package lists may be absent on a fresh image, or stale; refresh once if the
# first attempt cannot find or fetch a package.
if ! "${run[@]}" ${install_cmd} >/tmp/panoptes-apt-install.log 2>&1; then
  "${run[@]}" apt-get update -qq >>/tmp/panoptes-apt-install.log 2>&1
  if ! "${run[@]}" ${install_cmd} >>/tmp/panoptes-apt-install.log 2>&1; then
    tail -n 30 /tmp/panoptes-apt-install.log >&2
    echo "${who}: '${install_cmd}' failed; full log in /tmp/panoptes-apt-install.log" >&2
    exit 1
  fi
fi
echo "${who}: installed ${missing[*]}" >&2
