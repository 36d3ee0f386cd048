#!/usr/bin/env bash
# Backs up the Smiletap server's database while it runs:
#   SQLite     → DEST/smiletap-<UTC time>.sqlite3 (SQLite's online backup API: a consistent
#                copy even mid-write; never a copy of the live file, whose WAL may hold
#                committed data), checked with PRAGMA integrity_check.
#   PostgreSQL → DEST/smiletap-<UTC time>.pgdump (pg_dump -Fc, one consistent snapshot).
#
#   deploy/server/backup.sh /var/backups/smiletap
#
# The database is found as the app finds it: SMILETAP_* variables, else
# /etc/smiletap/server.env; SMILETAP_PYTHON names the venv's python (default
# /opt/smiletap/venv/bin/python). Prints the backup's path. Restore with restore.sh.
set -euo pipefail
umask 077 # a backup holds every comment and token hash: for the owner's eyes only
HERE=$(cd "$(dirname "$0")" && pwd)

dest_dir=${1:?usage: backup.sh DEST_DIR}
mkdir -p "$dest_dir"
# shellcheck source=SCRIPTDIR/_dburl.sh
source "$HERE/_dburl.sh"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
if [[ $DB_KIND == sqlite ]]; then
  [[ -f $DB_PATH ]] || { echo "backup.sh: no database at $DB_PATH" >&2; exit 1; }
  out=$dest_dir/smiletap-$stamp.sqlite3
  "$SMILETAP_PYTHON" - "$DB_PATH" "$out.part" <<'PY'
import sqlite3
import sys

source = sqlite3.connect(sys.argv[1], timeout=30)
target = sqlite3.connect(sys.argv[2])
with target:
    source.backup(target)
target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
(result,) = target.execute("PRAGMA integrity_check").fetchone()
target.close()
source.close()
if result != "ok":
    sys.exit(f"backup.sh: integrity check of the copy failed: {result}")
PY
else
  out=$dest_dir/smiletap-$stamp.pgdump
  pg_tool pg_dump --format=custom --no-owner --no-privileges --file="$out.part" --dbname="$PG_URL"
fi
mv "$out.part" "$out"
echo "$out"
