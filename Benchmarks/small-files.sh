#!/usr/bin/env bash
# Issue 20, item 3: COUNT small JPEGs (64×48 ffmpeg frames, ~2 KB, each made distinct by bytes after its end, in
# folders of 1,000) ingested into a new local library, each build in turn (BINS="a/keepsake b/keepsake", else the
# release build), ROUNDS times; prints wall seconds, files/s and CPU milliseconds a file (the whole process tree,
# media workers included: `perf stat`'s task-clock).
# Every run's library is on an ext4 file system made for that run (a loop device): ext4 passes over the inodes freed
# in the last 5 to 300 seconds when it makes a file, so a run right after another's library was deleted spent up to a
# third of its CPU in the kernel looking for a free inode. Needs root (mount), ffmpeg and perf (Debian: linux-perf).
# Run it from the project's root.
#   usage: Benchmarks/small-files.sh [COUNT] [ROUNDS]
set -euo pipefail
count=${1:-10000}; rounds=${2:-1}
. "$(dirname "$0")/bench-set.sh"
for b in ${BINS:-$bin}; do need_binary "$b"; done
work=$(mktemp -d); mnt=$work/fs
mkdir "$work/set" "$mnt"
trap 'umount "$mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
ffmpeg -v error -f lavfi -i testsrc=size=64x48 -frames:v 1 "$work/seed.jpg"
python3 - "$work/seed.jpg" "$work/set" "$count" <<'PY'
import os, struct, sys
seed = open(sys.argv[1], 'rb').read()
for index in range(int(sys.argv[3])):
    folder = os.path.join(sys.argv[2], str(index // 1000))
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'IMG_%d.jpg' % index), 'wb') as f:
        f.write(seed + struct.pack('>I', index))
PY
export KEEPSAKE_PASSPHRASE=${KEEPSAKE_PASSPHRASE:-bench passphrase}
for ((round = 1; round <= rounds; round++)); do
  for b in ${BINS:-$bin}; do
    umount "$mnt" 2>/dev/null || true
    rm -f "$work/fs.img"; truncate -s 4G "$work/fs.img"; mkfs.ext4 -q -F "$work/fs.img"; mount -o loop "$work/fs.img" "$mnt"
    start=$(date +%s.%N)
    perf stat -x, -e task-clock -o "$work/stat" -- "$b" ingest "$work/set" --library "$mnt/lib" >"$work/out" 2>&1 ||
      { echo "$b failed:"; tail -20 "$work/out"; exit 1; }
    end=$(date +%s.%N)
    grep -q "failed:      none" "$work/out" || { echo "$b: some files failed:"; tail -20 "$work/out"; exit 1; }
    awk -v b="$b" -v r="$round" -v n="$count" -v w="$(awk "BEGIN{print $end - $start}")" \
      -v c="$(awk -F, '$3 == "task-clock" {print $1}' "$work/stat")" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
      'BEGIN { printf "%-40s round %d: %6.1f s, %5.0f files/s, %5.2f ms of CPU a file (load %s)\n", b, r, w, n / w, c / n, load }'
  done
done
