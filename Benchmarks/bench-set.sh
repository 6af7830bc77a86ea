# Sourced by the benchmark scripts, which run from the project's root: `bench` is the shared bench folder
# (../shared/bench, or $KEEPSAKE_SHARED/bench), `set_dir` the bench set its maker keeps up to date ($BENCH_SET, else
# /tmp/keepsake-bench-set), `bin` the keepsake to time ($KEEPSAKE_BIN, else the release build). A script checks its
# binaries with `need_binary`, then calls `make_bench_set`.
bench=${KEEPSAKE_SHARED:-$(pwd)/../shared}/bench
set_dir=${BENCH_SET:-/tmp/keepsake-bench-set}
bin=${KEEPSAKE_BIN:-.build/release/keepsake}
need_binary() { [ -x "$1" ] || { echo "no $1: run 'swift build -c release' first" >&2; exit 2; }; }
make_bench_set() { "$bench/make-bench-set.sh" "$set_dir" >/dev/null; }
