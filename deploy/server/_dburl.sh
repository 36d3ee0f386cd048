# Sourced by backup.sh and restore.sh: finds the server's database the way the app does.
# Reads /etc/smiletap/server.env (or $SMILETAP_ENV_FILE) when it exists; variables already in
# the environment win. Sets DB_URL (SQLAlchemy form), DB_KIND (sqlite|postgresql) and either
# DB_PATH (SQLite file) or PG_URL (a libpq URL for pg_dump/pg_restore/psql, without the
# password). Run the PostgreSQL tools through `pg_tool`: the password reaches them in a 0600
# PGPASSFILE that is removed on exit, never in argv (`ps` shows argv to every user) or in
# their environment.
# shellcheck shell=bash

SMILETAP_PYTHON=${SMILETAP_PYTHON:-/opt/smiletap/venv/bin/python}
env_file=${SMILETAP_ENV_FILE:-/etc/smiletap/server.env}
if [[ -f $env_file ]]; then
  while IFS='=' read -r name value; do
    [[ $name =~ ^SMILETAP_[A-Z0-9_]+$ ]] || continue
    [[ -n ${!name+set} ]] || export "$name=$value"
  done <"$env_file"
fi

DB_URL=$("$SMILETAP_PYTHON" -c '
from server.app import create_app
from server.db import database_url
print(database_url(create_app()))
')
case $DB_URL in
  sqlite:///*)
    DB_KIND=sqlite
    DB_PATH=${DB_URL#sqlite:///}
    ;;
  postgresql*://*)
    DB_KIND=postgresql
    # Line 1: the libpq URL without its password; line 2: a .pgpass line (or nothing).
    pg_parts=$("$SMILETAP_PYTHON" -c '
import sys
from sqlalchemy.engine import make_url

url = make_url(sys.stdin.read().strip())
print(url._replace(drivername="postgresql", password=None).render_as_string(hide_password=False))
if url.password is not None:
    escaped = str(url.password).replace("\\", "\\\\").replace(":", "\\:")
    print("*:*:*:*:" + escaped)
' <<<"$DB_URL")
    PG_URL=$(sed -n 1p <<<"$pg_parts")
    PGPASSFILE=$(mktemp "${TMPDIR:-/tmp}/smiletap-pgpass.XXXXXX") # mktemp makes it 0600
    trap 'rm -f "$PGPASSFILE"' EXIT
    sed -n 2p <<<"$pg_parts" >"$PGPASSFILE"
    unset pg_parts
    ;;
  *)
    echo "$(basename "$0"): unsupported database URL: ${DB_URL%%:*}:..." >&2
    exit 1
    ;;
esac
export DB_KIND DB_PATH PG_URL
unset DB_URL

# Runs a PostgreSQL client with the password file and without the server's variables (the
# database URL among them holds the password).
pg_tool() {
  env -u SMILETAP_DATABASE_URL -u PGPASSWORD PGPASSFILE="$PGPASSFILE" "$@"
}
