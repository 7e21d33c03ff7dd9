#!/usr/bin/env bash
# Plain send against send_zc on the host stack (bench_host_send), over loopback and across a
# veth pair into a network namespace made here (root), to choose
# host_options::zero_copy_threshold. The bench runs in a private namespace of its own
# (unshare -n) holding one end, 10.77.0.1; the sink's thread enters namespace
# coronet-zc-<pid> holding the other, 10.77.0.2. Figures in bench/README.md.
#   bench/host_send_bench.sh [BUILD_DIR] [BENCHMARK ARGS...]   (default build/debug)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/debug}
shift || true
bin=$build/bench/bench_host_send
[[ -x $bin ]] || { echo "build $bin first (cmake --build $build --target bench_host_send)" >&2; exit 1; }

if [[ "${CORONET_IN_NETNS:-}" != 1 ]]; then
  exec unshare -n env CORONET_IN_NETNS=1 "$0" "$build" "$@"
fi

ns=coronet-zc-$$
ip link set lo up
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
ip link add czc0 type veth peer name czc1
ip link set czc1 netns "$ns"
ip addr add 10.77.0.1/30 dev czc0
ip link set czc0 up
ip -n "$ns" addr add 10.77.0.2/30 dev czc1
ip -n "$ns" link set czc1 up
ip -n "$ns" link set lo up

echo "== loopback"
"$bin" "$@"
echo "== veth into $ns"
CORONET_BENCH_NETNS=$ns CORONET_BENCH_SINK=10.77.0.2 "$bin" "$@"
