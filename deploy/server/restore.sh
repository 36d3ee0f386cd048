#!/usr/bin/env bash
# Restores a backup made by backup.sh into the server's configured database, then brings the
# schema up to date (`smiletap-server migrate`), so a backup from an older version works too.
#
#   systemctl stop smiletap-server
#   deploy/server/restore.sh /var/backups/smiletap/smiletap-20260101T020000Z.sqlite3
#   systemctl start smiletap-server
#
# The target must be empty (a missing SQLite file, or a PostgreSQL database without
# tables, e.g. fresh from postgres-setup.sh) unless --force is given, which replaces it.
# The database is found as backup.sh finds it. The server must be stopped.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

force=0
backup=""
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    -*) echo "restore.sh: unknown option: $arg" >&2; exit 2 ;;
    *) backup=$arg ;;
  esac
done
[[ -n $backup && -f $backup ]] || { echo "usage: restore.sh [--force] BACKUP_FILE" >&2; exit 2; }
# shellcheck source=SCRIPTDIR/_dburl.sh
source "$HERE/_dburl.sh"

magic=$(head -c 5 "$backup" | tr -d '\0')
if [[ $DB_KIND == sqlite ]]; then
  [[ $magic == SQLit ]] || { echo "restore.sh: $backup is not a SQLite backup" >&2; exit 1; }
  if [[ -e $DB_PATH ]] && ((!force)); then
    echo "restore.sh: $DB_PATH exists (use --force to replace it)" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$DB_PATH")"
  rm -f "$DB_PATH" "$DB_PATH-wal" "$DB_PATH-shm"
  "$SMILETAP_PYTHON" - "$backup" "$DB_PATH" <<'PY'
import sqlite3
import sys

source = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
target = sqlite3.connect(sys.argv[2])
with target:
    source.backup(target)
target.close()
source.close()
PY
else
  [[ $magic == PGDMP ]] || { echo "restore.sh: $backup is not a pg_dump -Fc file" >&2; exit 1; }
  tables=$(pg_tool psql "$PG_URL" -qtA -c \
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
  if ((tables > 0 && !force)); then
    echo "restore.sh: the database has $tables tables (use --force to replace them)" >&2
    exit 1
  fi
  clean=()
  ((tables == 0)) || clean=(--clean --if-exists)
  pg_tool pg_restore --no-owner --no-privileges --exit-on-error "${clean[@]}" --dbname="$PG_URL" "$backup"
fi
"$(dirname "$SMILETAP_PYTHON")/smiletap-server" migrate
echo "restored $backup"
