#!/usr/bin/env bash
# One command for the whole product on this machine: installs the venv, starts a SQLite
# server with demo data, enrolls one kiosk and opens its window (on Xvfb without a display).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash deploy/dev/install.sh
exec .venv/bin/python deploy/dev/demo.py "$@"
