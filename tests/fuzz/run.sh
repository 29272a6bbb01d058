#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/fuzz_*.c) with clang, replays every committed seed and
# regression input, then fuzzes each target for a while. Non-zero exit on any crash, leak,
# sanitizer report, failed check or hang. Used by CTest (fuzz/libfuzzer, a short run) and for the
# long run in docs/fuzzing.md.
#
#   tests/fuzz/run.sh [--seconds N] [--parallel] [--only "body http ..."] [--build-dir DIR]
#
# --seconds N   fuzz each target for N seconds (default 20; 0 only replays)
# --parallel    fuzz all targets at once (the long run), instead of one after another
# New inputs found go to BUILD/work/NAME (not into the repository); crashes to BUILD/artifacts/.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FUZZ=$ROOT/tests/fuzz
SECONDS_EACH=20
PARALLEL=0
ONLY=""
BUILD=$ROOT/build/fuzz
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) SECONDS_EACH=$2; shift 2 ;;
    --parallel) PARALLEL=1; shift ;;
    --only) ONLY=$2; shift 2 ;;
    --build-dir) BUILD=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--parallel] [--only 'a b'] [--build-dir DIR]" >&2; exit 2 ;;
  esac
done

if ! command -v clang >/dev/null 2>&1; then
  echo "fuzz: clang is not installed. The fuzz targets need clang and libFuzzer's runtime:" >&2
  echo "  sudo apt-get install -y clang libclang-rt-14-dev   (./ehc test installs them)" >&2
  exit 1
fi

echo "fuzz: building the harnesses with clang in ${BUILD#"$ROOT"/}"
CC=clang cmake -S "$ROOT" -B "$BUILD" -DEHC_FUZZ=ON -DEHC_TESTS=OFF -DEHC_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=Debug >"$BUILD.configure.log" 2>&1 || { cat "$BUILD.configure.log" >&2; exit 1; }
cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" -- --no-print-directory >/dev/null ||
  cmake --build "$BUILD" -j 1

# The same sanitizer settings as ./ehc test; libFuzzer adds its own leak check per input.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export EHC_SOURCE_DIR=$ROOT

targets=()
for src in "$FUZZ"/fuzz_*.c; do
  name=$(basename "$src" .c)
  name=${name#fuzz_}
  if [ -n "$ONLY" ] && ! grep -qw "$name" <<<"$ONLY"; then continue; fi
  targets+=("$name")
done

# Seeds that live elsewhere in the repository, always current: the shipped workflows and calendars.
extra_seeds() {
  case $1 in
    workflow) ls "$ROOT"/workflows/*.json ;;
    calendar) find "$ROOT/workflows/calendars" -name '*.json' ;;
  esac
}

replay() { # replay NAME: every committed input, one by one
  local name=$1 bin=$BUILD/tests/fuzz/fuzz_$1 files=()
  local d
  for d in "$FUZZ/corpus/$name" "$FUZZ/regressions/$name"; do
    [ -d "$d" ] && mapfile -t -O ${#files[@]} files < <(find "$d" -type f | sort)
  done
  mapfile -t -O ${#files[@]} files < <(extra_seeds "$name")
  [ ${#files[@]} -gt 0 ] || { echo "fuzz: $name has no seeds in tests/fuzz/corpus/$name" >&2; return 1; }
  if ! "$bin" "${files[@]}" >"$BUILD/logs/$name.replay.log" 2>&1; then
    tail -40 "$BUILD/logs/$name.replay.log" >&2
    echo "fuzz: $name FAILED replaying the committed inputs (log: $BUILD/logs/$name.replay.log)" >&2
    return 1
  fi
  echo "fuzz: $name replayed ${#files[@]} committed inputs cleanly"
}

fuzz() { # fuzz NAME: new inputs for SECONDS_EACH seconds
  local name=$1 bin=$BUILD/tests/fuzz/fuzz_$1 seeds=$BUILD/seeds/$1 dict=()
  mkdir -p "$BUILD/work/$name" "$seeds" "$BUILD/artifacts"
  extra_seeds "$name" | while read -r f; do cp "$f" "$seeds/"; done
  [ -f "$FUZZ/$name.dict" ] && dict=(-dict="$FUZZ/$name.dict")
  local rc=0
  "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$BUILD/artifacts/$name-" "${dict[@]}" \
    "$BUILD/work/$name" "$FUZZ/corpus/$name" "$seeds" >"$BUILD/logs/$name.fuzz.log" 2>&1 || rc=$?
  local log=$BUILD/logs/$name.fuzz.log
  local runs speed cov corpus
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 | sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\)\/\([^ ]*\).*/cov=\1 ft=\2 corpus=\3 inputs (\4)/p')
  if [ $rc -ne 0 ]; then
    tail -60 "$log" >&2
    echo "fuzz: $name FAILED after ${runs:-?} runs (log: $log). The input is in $BUILD/artifacts/$name-*;" >&2
    echo "  reproduce with $bin FILE, fix the code, and add FILE to tests/fuzz/regressions/$name/." >&2
    return 1
  fi
  printf 'fuzz: %-9s %4ss clean: %s runs, %s exec/s, %s\n' "$name" "$SECONDS_EACH" "${runs:-?}" "${speed:-?}" "$cov"
}

mkdir -p "$BUILD/logs"
failed=0
for t in "${targets[@]}"; do replay "$t" || failed=1; done
if [ "$SECONDS_EACH" -gt 0 ]; then
  if [ $PARALLEL -eq 1 ]; then
    pids=()
    for t in "${targets[@]}"; do fuzz "$t" & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || failed=1; done
  else
    for t in "${targets[@]}"; do fuzz "$t" || failed=1; done
  fi
fi
[ $failed -eq 0 ] && echo "fuzz: all targets clean" || echo "fuzz: FAILED" >&2
exit $failed
