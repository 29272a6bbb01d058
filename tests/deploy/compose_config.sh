#!/usr/bin/env bash
# The deployment file is valid: `docker compose config` (or Debian's docker-compose) accepts it,
# and it still declares both services' health checks and the named data volume. No Docker engine
# is needed for this check.
set -euo pipefail
root=$1
export EHC_DB_PASSWORD=compose-config-check-only
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
else
  echo "FAIL: neither 'docker compose' nor 'docker-compose' is installed (./ehc test installs docker-compose)" >&2
  exit 1
fi
out=$("${compose[@]}" -f "$root/docker-compose.yml" --project-directory "$root" config)
fail=0
for want in "postgres:" "ehcd:" "ehc-pgdata" "pg_isready" "/readyz" "127.0.0.1:8080" "condition: service_healthy"; do
  grep -q -- "$want" <<<"$out" || { echo "FAIL: compose config lacks '$want'" >&2; fail=1; }
done
# without the secret the file must refuse to render, rather than run with an empty password
if EHC_DB_PASSWORD= "${compose[@]}" -f "$root/docker-compose.yml" --project-directory "$root" config >/dev/null 2>&1; then
  echo "FAIL: compose config rendered without EHC_DB_PASSWORD" >&2; fail=1
fi
[ $fail -eq 0 ] && echo "1 passed, 0 failed"
exit $fail
