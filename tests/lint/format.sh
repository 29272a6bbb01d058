#!/usr/bin/env bash
# House style: every C file of the repository is formatted with the repository's .clang-format.
set -uo pipefail
root=$1
cd "$root" || exit 1
command -v clang-format >/dev/null || { echo "FAIL: clang-format is not installed (./ehc test installs it)" >&2; exit 1; }
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build/*')
bad=0
total=0
for f in $files; do
  total=$((total + 1))
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f (run: clang-format -i $f)" >&2
    bad=$((bad + 1))
  fi
done
echo "$((total - bad)) passed, $bad failed"
[ $bad -eq 0 ]
