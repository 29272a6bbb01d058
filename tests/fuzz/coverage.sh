#!/usr/bin/env bash
# Source coverage reached by the fuzz corpora: builds the harnesses again with clang's coverage
# instrumentation (EHC_FUZZ_COVERAGE), runs each target once over its committed seeds, past crashes
# and the inputs a fuzzing run found (BUILD/work/NAME of tests/fuzz/run.sh), and prints llvm-cov's
# line and branch coverage of the files that target is about. Needs llvm-cov and llvm-profdata
# (Debian package llvm). Used for the figures in docs/fuzzing.md.
#
#   tests/fuzz/coverage.sh [--from BUILD_OF_A_RUN] [--build-dir DIR]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FUZZ=$ROOT/tests/fuzz
FROM=$ROOT/build/fuzz
BUILD=$ROOT/build/fuzz-coverage
while [ $# -gt 0 ]; do
  case $1 in
    --from) FROM=$2; shift 2 ;;
    --build-dir) BUILD=$2; shift 2 ;;
    *) echo "usage: $0 [--from BUILD_OF_A_RUN] [--build-dir DIR]" >&2; exit 2 ;;
  esac
done
for tool in clang llvm-cov llvm-profdata; do
  command -v $tool >/dev/null 2>&1 || { echo "coverage: $tool is missing (Debian packages clang, llvm)" >&2; exit 1; }
done

CC=clang cmake -S "$ROOT" -B "$BUILD" -DEHC_FUZZ=ON -DEHC_FUZZ_COVERAGE=ON -DEHC_TESTS=OFF -DEHC_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" -- --no-print-directory >/dev/null
export ASAN_OPTIONS=detect_leaks=0 EHC_SOURCE_DIR=$ROOT
mkdir -p "$BUILD/profiles"

files_of() {
  case $1 in
    body) echo api/body.c ;;
    query) echo api/query.c ;;
    event) echo engine/machine.c engine/store.c ;;
    workflow) echo engine/workflow.c ;;
    calendar) echo engine/calendar.c ;;
    http) echo api/http.c api/body.c api/query.c ;;
    import) echo engine/csv.c engine/import.c ;;
    *) echo "" ;;
  esac
}

for src in "$FUZZ"/fuzz_*.c; do
  name=$(basename "$src" .c)
  name=${name#fuzz_}
  dirs=()
  for d in "$FUZZ/corpus/$name" "$FUZZ/regressions/$name" "$FROM/work/$name" "$FROM/seeds/$name"; do
    [ -d "$d" ] && dirs+=("$d")
  done
  rm -f "$BUILD/profiles/$name".*
  LLVM_PROFILE_FILE="$BUILD/profiles/$name.profraw" "$BUILD/tests/fuzz/fuzz_$name" -runs=0 "${dirs[@]}" \
    >"$BUILD/profiles/$name.log" 2>&1
  llvm-profdata merge -sparse "$BUILD/profiles/$name.profraw" -o "$BUILD/profiles/$name.profdata"
  inputs=$(find "${dirs[@]}" -type f | wc -l)
  echo "== $name ($inputs inputs)"
  # shellcheck disable=SC2046
  llvm-cov report "$BUILD/tests/fuzz/fuzz_$name" -instr-profile="$BUILD/profiles/$name.profdata" \
    $(for f in $(files_of "$name"); do echo "$ROOT/$f"; done) | sed "s|$ROOT/||"
done
