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
.venv/bin/pytest --durations=25 "$@"  # the slowest tests, so the next one is seen
