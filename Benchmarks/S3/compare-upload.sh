#!/usr/bin/env bash
# Issue 20: `keepsake ingest --no-streams` of the bench set's videos into an S3 server on loopback (moto), against
# `aws s3 cp --recursive` of the same files into the same server, alternating (aws, keepsake, aws, keepsake, ...),
# each into a bucket of its own. Prints every wall time, the medians and their ratio (the bar: 1.2 or less).
# As aws gets its bucket made before its timed copy, keepsake gets its library made before its timed ingest (an
# ingest of an empty folder: the passphrase's Argon2id, the key and index written); the timed ingest still opens the
# library (Argon2id again) as every run does.
# With KEEPSAKE_BEFORE set to another keepsake build, each round also times that build (the order of the three rotated
# round by round), and the before/after ratio is printed too: on a shared machine the load moves between the script's
# runs more than between its rounds.
# Run it from the project's root after `swift build -c release`; needs python3 with moto[server] and the AWS CLI
# (scripts/setup --test installs both).
#   usage: Benchmarks/S3/compare-upload.sh [ROUNDS]     (KEEPSAKE_BIN overrides .build/release/keepsake)
set -euo pipefail
rounds=${1:-3}
. "$(dirname "$0")/../bench-set.sh"
need_binary "$bin"
before=${KEEPSAKE_BEFORE:-}
[ -z "$before" ] || need_binary "$before"
make_bench_set

work=$(mktemp -d)
moto_pid=
cleanup() { [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
mkdir "$work/videos" "$work/empty"
for video in "$set_dir"/bench_*; do ln -s "$video" "$work/videos/"; done
# aws s3 cp does not follow symbolic links unless asked; keepsake does: both read the same bytes.

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -c "from moto.server import main; main(['-H', '127.0.0.1', '-p', '$port'])" >"$work/moto.log" 2>&1 &
moto_pid=$!
endpoint=http://127.0.0.1:$port
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1

now() { date +%s.%N; }
aws_times=() keepsake_times=() before_times=()
time_aws() {  # ROUND
  aws --endpoint-url "$endpoint" s3 mb "s3://aws-$1" >/dev/null
  start=$(now)
  aws --endpoint-url "$endpoint" s3 cp --recursive --follow-symlinks --only-show-errors "$work/videos" "s3://aws-$1/"
  end=$(now)
  aws_times+=("$(awk "BEGIN{print $end - $start}")")
}
time_keepsake() {  # BINARY NAME ROUND: prints the wall time
  KEEPSAKE_PASSPHRASE=bench "$1" ingest "$work/empty" --library "$work/library-$2-$3" \
    --store "s3://$2-$3/lib" --s3-endpoint "$endpoint" >"$work/out" 2>&1 ||
    { echo "making the library failed:" >&2; tail -20 "$work/out" >&2; exit 1; }
  start=$(now)
  KEEPSAKE_PASSPHRASE=bench "$1" ingest "$work/videos" --no-streams --library "$work/library-$2-$3" \
    --store "s3://$2-$3/lib" --s3-endpoint "$endpoint" >"$work/out" 2>&1 ||
    { echo "keepsake ingest failed:" >&2; tail -20 "$work/out" >&2; exit 1; }
  end=$(now)
  awk "BEGIN{print $end - $start}"
}
for ((round = 0; round < rounds; round++)); do
  runs=(aws keepsake)
  [ -z "$before" ] || { runs=(aws before keepsake); for ((turn = 0; turn < round % 3; turn++)); do runs=("${runs[@]:1}" "${runs[0]}"); done; }
  for run in "${runs[@]}"; do
    case $run in
      aws) time_aws "$round" ;;
      keepsake) keepsake_times+=("$(time_keepsake "$bin" keepsake "$round")") ;;
      before) before_times+=("$(time_keepsake "$before" before "$round")") ;;
    esac
  done
done
bytes=$(du -cLb "$work"/videos/* | tail -1 | cut -f1)
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
a=$(median "${aws_times[@]}") k=$(median "${keepsake_times[@]}")
echo "$(ls "$work/videos" | wc -l) videos, $((bytes / 1000000)) MB, moto on loopback"
echo "aws s3 cp --recursive wall s: ${aws_times[*]}"
echo "keepsake ingest --no-streams wall s: ${keepsake_times[*]}"
printf 'ratio keepsake/aws %.3f (median %.2f s vs %.2f s)\n' "$(awk "BEGIN{print $k / $a}")" "$k" "$a"
if [ -n "$before" ]; then
  b=$(median "${before_times[@]}")
  echo "before ($before) wall s: ${before_times[*]}"
  printf 'ratio before/aws %.3f, keepsake/before %.3f (median %.2f s)\n' "$(awk "BEGIN{print $b / $a}")" "$(awk "BEGIN{print $k / $b}")" "$b"
fi
