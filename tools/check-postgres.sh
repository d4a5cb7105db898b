#!/usr/bin/env bash
# Checks the PostgreSQL that tests and `make demo` use (ORABRIDGE_TEST_PG_URL, default: the
# server this machine kind runs on 127.0.0.1:5432). It only reports: tests that need the
# database fail with the same advice when it is missing.
set -uo pipefail
url="${ORABRIDGE_TEST_PG_URL:-host=127.0.0.1 port=5432 user=postgres dbname=test}"
if command -v psql >/dev/null 2>&1 && psql "$url" -tAc 'SELECT 1' >/dev/null 2>&1; then
  echo "setup: PostgreSQL answers ($url)"
  exit 0
fi
cat >&2 <<MSG
setup: WARNING: PostgreSQL does not answer at "$url".
  The tests and the demo that need it will fail until it does. To get one on Debian:
    apt-get install postgresql && pg_ctlcluster \$(ls /etc/postgresql) main start
  (then allow local connections for user postgres), or set ORABRIDGE_TEST_PG_URL.
MSG
exit 0
