#!/usr/bin/env bash
# Issue 20, item 4: a byte-identical copy of the bench set at a second path is recognised before anything is
# encrypted or stored. Ingests the bench set into a new local library, copies the set to a second folder, ingests
# that, and prints both wall times, their ratio (the bar: 0.1 or less) and the objects the second run wrote.
# Run it from the project's root after `swift build -c release`.
#   usage: Benchmarks/copy-ingest.sh        (KEEPSAKE_BIN overrides .build/release/keepsake)
set -euo pipefail
. "$(dirname "$0")/bench-set.sh"
need_binary "$bin"
make_bench_set

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp -r "$set_dir" "$work/copy"
now() { date +%s.%N; }
objects() { find "$work/library" -path '*/data/*' -type f | wc -l; }
ingest() {
  KEEPSAKE_PASSPHRASE=bench "$bin" ingest "$1" --library "$work/library" >"$work/out" 2>&1 ||
    { echo "keepsake ingest $1 failed:"; tail -20 "$work/out"; exit 1; }
}
start=$(now); ingest "$set_dir"; end=$(now); first=$(awk "BEGIN{print $end - $start}")
before=$(objects)
start=$(now); ingest "$work/copy"; end=$(now); second=$(awk "BEGIN{print $end - $start}")
after=$(objects)
tail -3 "$work/out"
echo "first ingest: ${first} s, ${before} objects in the store's data/"
echo "the copy at a second path: ${second} s, $((after - before)) objects written"
printf 'ratio copy/first %.3f\n' "$(awk "BEGIN{print $second / $first}")"
