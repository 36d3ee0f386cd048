# Sourced by backup.sh and restore.sh: finds the server's database the way the app does.
# Reads /etc/smiletap/server.env (or $SMILETAP_ENV_FILE) when it exists; variables already in
# the environment win. Sets DB_URL (SQLAlchemy form), DB_KIND (sqlite|postgresql) and either
# DB_PATH (SQLite file) or PG_URL (a libpq URL for pg_dump/pg_restore/psql).
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
    PG_URL=postgresql://${DB_URL#*://}
    ;;
  *)
    echo "$(basename "$0"): unsupported database URL: ${DB_URL%%:*}:..." >&2
    exit 1
    ;;
esac
export DB_URL DB_KIND DB_PATH PG_URL
