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
# One pytest run over every test, listing its 25 slowest so the next slow one is seen. Every
# test is isolated (its own temp folders, databases, free ports and X displays), so they run
# side by side (pytest-xdist), four at a time even on two cores: the end-to-end tests mostly
# wait on the processes they start, and the quick tests fill those waits. Tests are handed
# out one by one, the longest end-to-end files first (tests/e2e/conftest.py), so the last
# minutes are not one long test alone. Cached bytecode even where the environment turns it
# off (PYTHONDONTWRITEBYTECODE): without it every worker compiles and assertion-rewrites
# every module again (~4 s CPU a process).
PYTHONDONTWRITEBYTECODE='' exec .venv/bin/pytest --durations=25 -n 4 --maxschedchunk 1 "$@"
