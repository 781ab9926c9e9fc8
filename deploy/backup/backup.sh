#!/usr/bin/env bash
# Back up Vigia: PostgreSQL (pg_dump custom format) and the object store, into one directory.
#
#   deploy/backup/backup.sh [--out DIR] [--no-objects]
#
# Reads the same settings as the services:
#   VIGIA_DATABASE_URL   postgresql://user[:pass]@host:port/db   (default: the local development DB)
#   VIGIA_OBJECT_STORE   file://<dir> (relative to the working directory) or s3://<bucket-prefix>
#   VIGIA_S3_ENDPOINT, VIGIA_S3_ACCESS_KEY, VIGIA_S3_SECRET_KEY, VIGIA_S3_SECURE   (s3:// only; needs `mc`)
#
# Writes DIR/vigia-<UTC timestamp>/ holding:
#   database.dump    pg_dump --format=custom (restore with restore.sh or pg_restore)
#   objects.tar.gz   the file:// store's directory           (file:// stores)
#   objects/<bucket>/ an `mc mirror` copy of each bucket     (s3:// stores)
#   manifest.txt     what was backed up, when, row counts per table and the object list with sizes
# and prints the backup directory on the last line of stdout. Exits non-zero on any failure and
# leaves no half-written backup behind (it is built in a temporary directory, then renamed).
set -euo pipefail

out="${VIGIA_BACKUP_DIR:-var/backups}"
objects=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --out=*) out="${1#--out=}"; shift ;;
    --no-objects) objects=0; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "backup.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

db_url="${VIGIA_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/vigia}"
store="${VIGIA_OBJECT_STORE:-file://var/objects}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
tmp="$(mktemp -d "$out/.vigia-$stamp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

log() { echo "backup.sh: $*" >&2; }

log "dumping the database"
# --no-owner/--no-acl are applied at restore time; the dump keeps everything.
pg_dump --format=custom --compress=6 --file="$tmp/database.dump" --dbname="$db_url"

{
  echo "vigia backup $stamp"
  echo "database: $(pg_restore --list "$tmp/database.dump" | sed -n 's/^;[[:space:]]*Dbname: //p')"
  echo "object_store: ${store%%\?*}"
  echo "[row counts]"
  psql --no-psqlrc --quiet --tuples-only --no-align --dbname="$db_url" --command "
    SELECT format('%s %s', c.relname,
                  (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I',
                                                              n.nspname, c.relname), false, true, '')))[1]::text)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public' ORDER BY c.relname"
} > "$tmp/manifest.txt"

if [ "$objects" = 1 ]; then
  case "$store" in
    file://*)
      root="${store#file://}"
      if [ -d "$root" ]; then
        log "archiving the file store $root"
        tar --create --gzip --file="$tmp/objects.tar.gz" --directory="$root" .
        echo "[objects]" >> "$tmp/manifest.txt"
        (cd "$root" && find . -type f -printf '%P %s\n' | LC_ALL=C sort) >> "$tmp/manifest.txt"
      else
        log "file store $root does not exist: no objects to back up"
      fi
      ;;
    s3://*)
      # MinIO/S3: mirror every Vigia bucket (<prefix>-snapshots, -evidence, -models) with the MinIO client.
      command -v mc >/dev/null || { log "s3:// store needs the MinIO client 'mc' on PATH"; exit 1; }
      prefix="${store#s3://}"; prefix="${prefix%/}"
      scheme=http; case "${VIGIA_S3_SECURE:-false}" in 1|true|True|yes) scheme=https ;; esac
      export MC_HOST_vigiabackup="$scheme://${VIGIA_S3_ACCESS_KEY:?}:${VIGIA_S3_SECRET_KEY:?}@${VIGIA_S3_ENDPOINT:?}"
      for bucket in snapshots evidence models; do
        mkdir -p "$tmp/objects/$bucket"
        mc mirror --quiet --preserve "vigiabackup/$prefix-$bucket" "$tmp/objects/$bucket"
      done
      ;;
    *) log "unsupported VIGIA_OBJECT_STORE $store"; exit 1 ;;
  esac
fi

final="$out/vigia-$stamp"
[ -e "$final" ] && final="$final-$$"
mv "$tmp" "$final"
trap - EXIT
log "backup complete"
echo "$final"
