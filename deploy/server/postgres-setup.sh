#!/usr/bin/env bash
# Creates the PostgreSQL role and database for the Smiletap server (idempotent) and prints
# the SMILETAP_DATABASE_URL line for /etc/smiletap/server.env. Run on the database host:
#
#   sudo deploy/server/postgres-setup.sh [--role smiletap] [--db smiletap] [--password PW]
#
# Without --password a random one is made (and printed once; an existing role keeps its
# password unless --password is given). --admin-url postgresql://postgres@HOST/postgres
# connects as that superuser instead of running psql as the local `postgres` user.
set -euo pipefail

ROLE=smiletap
DB=smiletap
PASSWORD=""
ADMIN_URL=""
HOST=127.0.0.1
PORT=5432

while (($#)); do
  case $1 in
    --role) ROLE=${2:?}; shift 2 ;;
    --db) DB=${2:?}; shift 2 ;;
    --password) PASSWORD=${2:?}; shift 2 ;;
    --admin-url) ADMIN_URL=${2:?}; shift 2 ;;
    --host) HOST=${2:?}; shift 2 ;;
    --port) PORT=${2:?}; shift 2 ;;
    *) echo "postgres-setup.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ $ROLE =~ ^[a-z_][a-z0-9_]*$ && $DB =~ ^[a-z_][a-z0-9_]*$ ]] \
  || { echo "postgres-setup.sh: --role and --db must be lower-case identifiers" >&2; exit 2; }

admin_psql() {
  if [[ -n $ADMIN_URL ]]; then
    psql "$ADMIN_URL" -v ON_ERROR_STOP=1 -qtA "$@"
  else
    runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qtA "$@"
  fi
}

new_password=$PASSWORD
if [[ -z $(admin_psql -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'") ]]; then
  [[ -n $new_password ]] || new_password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
  # psql fills in :'pw' (quoted) only in SQL read from standard input, not from -c.
  admin_psql -v pw="$new_password" <<<"CREATE ROLE \"$ROLE\" LOGIN PASSWORD :'pw'"
  echo "created role $ROLE"
elif [[ -n $new_password ]]; then
  admin_psql -v pw="$new_password" <<<"ALTER ROLE \"$ROLE\" PASSWORD :'pw'"
  echo "role $ROLE exists: password changed"
else
  echo "role $ROLE exists: password kept"
fi

if [[ -z $(admin_psql -c "SELECT 1 FROM pg_database WHERE datname = '$DB'") ]]; then
  admin_psql -c "CREATE DATABASE \"$DB\" OWNER \"$ROLE\" ENCODING 'UTF8' TEMPLATE template0"
  echo "created database $DB"
else
  echo "database $DB exists"
fi

shown=PASSWORD
[[ -z $new_password ]] \
  || shown=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$new_password")
echo "SMILETAP_DATABASE_URL=postgresql://$ROLE:$shown@$HOST:$PORT/$DB"
echo "then: smiletap-server migrate"
