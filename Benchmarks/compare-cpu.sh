#!/usr/bin/env bash
# compare.sh's alternation (reference toolchain, then keepsake ingest, ROUNDS times) with the CPU seconds of each
# whole process tree beside its wall seconds: on a shared machine the wall times move with the load, the CPU times
# much less. Several keepsake builds can take turns after each reference run (BINS="a/keepsake b/keepsake"). The CPU is counted by a cgroup
# (cgroup v1 cpuacct, else cgroup v2), so it needs root. Run it from the project's root.
#   usage: Benchmarks/compare-cpu.sh [ROUNDS]     (BINS defaults to .build/release/keepsake)
set -euo pipefail
rounds=${1:-2}
. "$(dirname "$0")/bench-set.sh"
for b in ${BINS:-$bin}; do need_binary "$b"; done
make_bench_set
work=$(mktemp -d)
if [ -d /sys/fs/cgroup/cpuacct ]; then
  cg=/sys/fs/cgroup/cpuacct/keepsake-compare-$$; mkdir "$cg"
  cpu_ns() { cat "$cg/cpuacct.usage"; }
else
  cg=/sys/fs/cgroup/keepsake-compare-$$; mkdir "$cg"
  cpu_ns() { awk '$1 == "usage_usec" {print $2 * 1000}' "$cg/cpu.stat"; }
fi
trap 'rm -rf "$work"; rmdir "$cg" 2>/dev/null || true' EXIT
measure() { # LABEL COMMAND...: runs COMMAND in the cgroup, prints its wall and CPU seconds
  local label=$1; shift
  local cpu0 start end cpu1
  cpu0=$(cpu_ns); start=$(date +%s.%N)
  bash -c 'echo $$ > "$0/cgroup.procs"; exec "$@"' "$cg" "$@" >"$work/out" 2>&1 ||
    { echo "$label failed:"; tail -20 "$work/out"; exit 1; }
  end=$(date +%s.%N); cpu1=$(cpu_ns)
  printf '%-40s wall %6.1f s  cpu %6.1f s  (load %s)\n' "$label" "$(awk "BEGIN{print $end - $start}")" \
    "$(awk "BEGIN{print ($cpu1 - $cpu0) / 1e9}")" "$(cut -d' ' -f1 /proc/loadavg)"
}
for ((i = 0; i < rounds; i++)); do
  rm -rf "$work/ref"
  measure reference "$bench/reference-pipeline.sh" "$set_dir" "$work/ref"
  for build in ${BINS:-$bin}; do
    rm -rf "$work/lib"
    KEEPSAKE_PASSPHRASE=bench measure "$build" "$build" ingest "$set_dir" --library "$work/lib"
  done
done
