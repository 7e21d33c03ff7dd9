#!/usr/bin/env bash
# The native stack on a TAP device against clients on the kernel side, in a private network
# namespace (root): HTTP requests per second with wrk (64 keep-alive connections, the
# in-memory /hello response) and bulk TCP throughput both ways (coronet-bulk on the native
# stack, coronet-bulk on the host stack, i.e. kernel sockets, as the peer), with the TAP's
# offloads on and off. The kernel is 10.0.0.1 on a persistent TAP device made here, coronet
# 10.0.0.2 attaches to it. Figures and the machine are in bench/README.md.
#   bench/tap_bench.sh [BUILD_DIR] [SECONDS] [BYTES]
#   (defaults: build/release, 5 s of wrk, 1 GiB each way)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
seconds=${2:-5}
bytes=${3:-1073741824}
ex=$build/examples
for p in coronet-httpd coronet-bulk; do
  [[ -x $ex/$p ]] || { echo "build $ex/$p first (cmake --build $build --target $p)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "wrk is missing: scripts/install-deps --bench" >&2; exit 1; }

if [[ "${CORONET_IN_NETNS:-}" != 1 ]]; then
  exec unshare -n env CORONET_IN_NETNS=1 "$0" "$build" "$seconds" "$bytes"
fi

ip link set lo up
ip tuntap add dev ctap0 mode tap vnet_hdr
ip addr add 10.0.0.1/24 dev ctap0
ip link set ctap0 up

wait_port() { # ADDR PORT: until something accepts there (at most 10 s)
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1:$2" >&2
  return 1
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT
wait_line() { # FILE: until the program writing it says it listens (at most 10 s)
  for _ in $(seq 100); do
    grep -q "listening on port" "$1" && return 0
    sleep 0.1
  done
  echo "no listener started" >&2
  return 1
}

for offload in on off; do
  native=(--tap ctap0 --ip 10.0.0.2/24 --offload "$offload")
  echo "== offloads $offload"

  "$ex/coronet-httpd" "${native[@]}" --port 8080 >/dev/null &
  httpd=$!
  wait_port 10.0.0.2 8080
  wrk -t2 -c64 -d"${seconds}s" http://10.0.0.2:8080/hello | sed 's/^/  /'
  kill -INT "$httpd"
  wait "$httpd"

  # coronet-bulk accepts one connection only: wait for its "listening on port" line.
  echo "  coronet -> kernel:"
  "$ex/coronet-bulk" --stack host --mode receive --listen 5001 >"$out" &
  sink=$!
  wait_line "$out"
  "$ex/coronet-bulk" "${native[@]}" --mode send --connect 10.0.0.1:5001 --bytes "$bytes" |
    sed 's/^/    coronet /'
  wait "$sink"
  sed 's/^/    kernel  /' "$out"

  echo "  kernel -> coronet:"
  "$ex/coronet-bulk" "${native[@]}" --mode receive --listen 5002 >"$out" &
  sink=$!
  wait_line "$out"
  "$ex/coronet-bulk" --stack host --mode send --connect 10.0.0.2:5002 --bytes "$bytes" |
    sed 's/^/    kernel  /'
  wait "$sink"
  sed 's/^/    coronet /' "$out"
done
