#!/usr/bin/env bash
# Installs and starts what the test suite talks to: PostgreSQL and a Chroma server on
# loopback, Chromium for Playwright, Pango for WeasyPrint. Safe to run again.
# Prints the environment the tests need as `export` lines on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)
dpkg -s libpango-1.0-0 >/dev/null 2>&1 || need+=(libpango-1.0-0 libpangoft2-1.0-0)
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || need+=(fonts-dejavu-core)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${need[@]}" >&2
fi

version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
pg_ctlcluster "$version" main start >&2 2>/dev/null || true
for _ in $(seq 1 30); do
  pg_isready -h 127.0.0.1 -q && break
  sleep 1
done
su postgres -c "psql -q -tc \"SELECT 1 FROM pg_roles WHERE rolname='clerk'\" | grep -q 1 || \
  psql -q -c \"CREATE ROLE clerk LOGIN SUPERUSER PASSWORD 'clerk'\"" >&2

port=8765
if ! curl -sf "http://127.0.0.1:$port/api/v2/heartbeat" >/dev/null 2>&1; then
  rm -rf /tmp/clerk-chroma-ci
  nohup .venv/bin/chroma run --path /tmp/clerk-chroma-ci --host 127.0.0.1 --port "$port" \
    >/tmp/clerk-chroma-ci.log 2>&1 &
  for _ in $(seq 1 60); do
    curl -sf "http://127.0.0.1:$port/api/v2/heartbeat" >/dev/null 2>&1 && break
    sleep 1
  done
fi

echo "export CLERK_TEST_POSTGRES_URL=postgresql+psycopg://clerk:clerk@127.0.0.1:5432/postgres"
echo "export CLERK_TEST_CHROMA_URL=http://127.0.0.1:$port"
echo "export CLERK_TEST_CHROMIUM=/usr/bin/chromium"
