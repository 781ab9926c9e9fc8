#!/usr/bin/env bash
# Restore a Vigia backup made by backup.sh into a fresh database and object store.
#
#   deploy/backup/restore.sh BACKUP_DIR [--no-objects] [--force]
#
# Target (same settings as the services):
#   VIGIA_DATABASE_URL   the database to restore into; created if missing. It must be empty (no
#                        tables in schema public) unless --force, which drops what the dump contains first.
#   VIGIA_OBJECT_STORE   file://<dir>: objects.tar.gz is unpacked there (the directory must be empty
#                        unless --force); s3://<prefix>: each bucket is mirrored back with `mc mirror`.
#
# Stop the services first (or at least control, the recorder and the workers that write), restore,
# then start them: migrations are already applied in the dump. TimescaleDB dumps are restored between
# timescaledb_pre_restore() and timescaledb_post_restore() as TimescaleDB requires.
set -euo pipefail

log() { echo "restore.sh: $*" >&2; }

src=""
objects=1
force=0
while [ $# -gt 0 ]; do
  case "$1" in
    --no-objects) objects=0; shift ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) log "unknown argument $1"; exit 2 ;;
    *) src="$1"; shift ;;
  esac
done
[ -n "$src" ] || { log "usage: restore.sh BACKUP_DIR [--no-objects] [--force]"; exit 2; }
[ -f "$src/database.dump" ] || { log "$src/database.dump not found"; exit 1; }

db_url="${VIGIA_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/vigia}"
store="${VIGIA_OBJECT_STORE:-file://var/objects}"

# The server's maintenance database, to create the target: same URL, path /postgres.
base="${db_url%%\?*}"; query=""; [ "$base" != "$db_url" ] && query="?${db_url#*\?}"
db_name="${base##*/}"
maintenance="${base%/*}/postgres$query"
[ -n "$db_name" ] || { log "VIGIA_DATABASE_URL names no database"; exit 1; }

psql_q() { psql --no-psqlrc --quiet --tuples-only --no-align -v ON_ERROR_STOP=1 "$@"; }

exists="$(psql_q --dbname="$maintenance" --command "SELECT 1 FROM pg_database WHERE datname = '${db_name//\'/\'\'}'")"
if [ -z "$exists" ]; then
  log "creating database $db_name"
  psql_q --dbname="$maintenance" --command "CREATE DATABASE \"${db_name//\"/\"\"}\""
fi
tables="$(psql_q --dbname="$db_url" --command \
  "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")"
clean=()
if [ "$tables" != "0" ]; then
  [ "$force" = 1 ] || { log "database $db_name is not empty ($tables tables); use a fresh one or --force"; exit 1; }
  clean=(--clean --if-exists)
fi

timescale=0
if pg_restore --list "$src/database.dump" | grep -q 'EXTENSION - timescaledb'; then
  timescale=1
  psql_q --dbname="$db_url" --command "CREATE EXTENSION IF NOT EXISTS timescaledb" \
    --command "SELECT timescaledb_pre_restore()"
fi
log "restoring the database into $db_name"
pg_restore --exit-on-error --no-owner --no-acl "${clean[@]}" --dbname="$db_url" "$src/database.dump"
if [ "$timescale" = 1 ]; then
  psql_q --dbname="$db_url" --command "SELECT timescaledb_post_restore()"
fi
psql_q --dbname="$db_url" --command "ANALYZE" >/dev/null

if [ "$objects" = 1 ]; then
  case "$store" in
    file://*)
      root="${store#file://}"
      if [ -f "$src/objects.tar.gz" ]; then
        mkdir -p "$root"
        if [ -n "$(ls -A "$root")" ] && [ "$force" != 1 ]; then
          log "object store $root is not empty; use a fresh one or --force"; exit 1
        fi
        log "unpacking objects into $root"
        tar --extract --gzip --file="$src/objects.tar.gz" --directory="$root"
      else
        log "backup holds no objects.tar.gz: object store left as it is"
      fi
      ;;
    s3://*)
      command -v mc >/dev/null || { log "s3:// store needs the MinIO client 'mc' on PATH"; exit 1; }
      [ -d "$src/objects" ] || { log "backup holds no objects/ directory"; exit 1; }
      prefix="${store#s3://}"; prefix="${prefix%/}"
      scheme=http; case "${VIGIA_S3_SECURE:-false}" in 1|true|True|yes) scheme=https ;; esac
      export MC_HOST_vigiarestore="$scheme://${VIGIA_S3_ACCESS_KEY:?}:${VIGIA_S3_SECRET_KEY:?}@${VIGIA_S3_ENDPOINT:?}"
      for dir in "$src"/objects/*/; do
        bucket="$(basename "$dir")"
        mc mb --ignore-existing "vigiarestore/$prefix-$bucket"
        mc mirror --quiet --overwrite "$dir" "vigiarestore/$prefix-$bucket"
      done
      ;;
    *) log "unsupported VIGIA_OBJECT_STORE $store"; exit 1 ;;
  esac
fi
log "restore complete"
