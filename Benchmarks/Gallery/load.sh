#!/usr/bin/env bash
# The gallery under load (issue 16): serves a COUNT-item library (default 10,000 small JPEGs, made once with
# make-photos.py and ingested with KEEPSAKE, kept in $TMPDIR) on loopback, logs in with the one-time link, and runs wrk
# over the items' thumbnails. Prints the first page's time and size, thumbnails/s, latency percentiles, and the
# server's peak RSS. Not part of the test suite.
#   usage: Benchmarks/Gallery/load.sh [KEEPSAKE_BINARY] [COUNT] [SECONDS] [CONNECTIONS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
keepsake=${1:-$here/../../.build/release/keepsake}
count=${2:-10000}
seconds=${3:-30}
connections=${4:-64}
export KEEPSAKE_PASSPHRASE=${KEEPSAKE_PASSPHRASE:-gallery-load}
root=${TMPDIR:-/tmp}/keepsake-gallery-load-$count
command -v wrk >/dev/null || { echo "load: wrk is missing: scripts/setup --test" >&2; exit 1; }

if [[ ! -e $root/complete ]]; then
  rm -rf "$root" && mkdir -p "$root"
  ffmpeg -v error -f lavfi -i testsrc2=size=640x480 -frames:v 1 -q:v 5 "$root/base.jpg"
  python3 "$here/make-photos.py" "$root/base.jpg" "$root/photos" "$count"
  echo "load: ingesting $count photos (once)" >&2
  "$keepsake" ingest "$root/photos" --library "$root/lib" --album-per-folder >&2
  rm -rf "$root/photos"
  touch "$root/complete"
fi

"$keepsake" serve --library "$root/lib" --listen 127.0.0.1:0 > "$root/serve.out" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "token=" "$root/serve.out" 2>/dev/null && break; sleep 0.1; done
login=$(grep -o 'http://[^ ]*token=[0-9a-f]*' "$root/serve.out")
base=${login%%/login*}
jar=$root/cookies
curl -s -c "$jar" -o /dev/null "$login"
session=$(awk '$6 == "keepsake_session" { print $7 }' "$jar")
[[ -n $session ]] || { echo "load: the login link did not log in" >&2; exit 1; }

echo "first page (/, $count items):"
# The first request reads every item's metadata from the index into the timeline; later ones reuse it (10 s).
curl -s -b "$jar" -o "$root/first.html" -w "  first request %{time_total} s, %{size_download} bytes, " "$base/"
echo "$(grep -o '<img' "$root/first.html" | wc -l) img elements (lazy)"
curl -s -b "$jar" -o /dev/null -w "  next request %{time_total} s\n" "$base/"

# Every item id, through the same paged JSON the page's script uses.
: > "$root/ids"
offset=0
while [[ $offset -ge 0 ]]; do
  page=$(curl -s -b "$jar" "$base/api/timeline?offset=$offset")
  python3 -c 'import json,sys; p=json.load(sys.stdin); print("\n".join(i["id"] for i in p["items"]), file=open(sys.argv[1], "a")); print(p["next"])' "$root/ids" <<< "$page" > "$root/next"
  offset=$(cat "$root/next")
done
echo "items listed: $(wc -l < "$root/ids")"

cat > "$root/thumbs.lua" <<LUA
local ids = {}
for line in io.lines("$root/ids") do ids[#ids + 1] = line end
local counter = 0
wrk.headers["Cookie"] = "keepsake_session=$session"
request = function()
  counter = counter + 1
  return wrk.format("GET", "/media/" .. ids[(counter % #ids) + 1] .. "/thumbnail")
end
LUA
# The process's own peak (VmHWM) includes the unlock's Argon2id (256 MiB, freed at once): RSS is sampled during the run.
rss_before=$(awk '/VmRSS/ { print $2 }' /proc/$server/status)
( peak=0; while kill -0 $server 2>/dev/null; do
    rss=$(awk '/VmRSS/ { print $2 }' /proc/$server/status 2>/dev/null || echo 0)
    (( rss > peak )) && { peak=$rss; echo $peak > "$root/peak"; }
    sleep 0.2
  done ) &
sampler=$!
echo "wrk: $connections connections, 2 threads, ${seconds}s, thumbnails of every item in turn"
wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$root/thumbs.lua" "$base" | sed 's/^/  /'
kill $sampler 2>/dev/null || true
echo "server RSS: $((rss_before / 1024)) MiB before the run, at most $(( $(cat "$root/peak") / 1024 )) MiB during it"
