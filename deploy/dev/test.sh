#!/usr/bin/env bash
# Installs what the tests need, then runs lint, type checks and every test
# (shared, server on SQLite and PostgreSQL, kiosk, end-to-end with real windows and sockets).
set -euo pipefail
cd "$(dirname "$0")/../.."

bash deploy/dev/install.sh

# The server tests run on a real PostgreSQL too: start the local cluster if it is down.
if command -v pg_lsclusters >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
export SMILETAP_TEST_PG_URL=${SMILETAP_TEST_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/}

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
# Two runs, each listing its 25 slowest tests so the next slow one is seen. Every test is
# isolated (its own temp folders, databases, free ports and X displays), so both run side by
# side (pytest-xdist): the tests outside the e2e marker on every core; the end-to-end tests,
# which mostly wait on the processes they start, four at a time even on two cores, handed out
# one by one (the longest files first, tests/e2e/conftest.py). Both runs always run; the
# script fails if either failed (exit status 5, "nothing selected", is arguments that name
# tests of one kind only).
failed=0
run() {
  local status=0
  .venv/bin/pytest --durations=25 "$@" || status=$?
  if [[ $status != 0 && $status != 5 ]]; then failed=$status; fi
}
# Cached bytecode even where the environment turns it off (PYTHONDONTWRITEBYTECODE): without
# it every worker compiles and assertion-rewrites every module again (~4 s CPU a process).
PYTHONDONTWRITEBYTECODE='' run -m "not e2e" -n auto "$@"
run -m e2e -n 4 --maxschedchunk 1 "$@"
exit "$failed"
