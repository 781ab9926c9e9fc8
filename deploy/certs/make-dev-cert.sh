#!/usr/bin/env bash
# Self-signed TLS pair for development: `make certs` (or deploy/certs/make-dev-cert.sh [DIR] [HOST]).
# Writes DIR/vigia.crt, DIR/vigia.key and DIR/vigia.pem (certificate + key concatenated, the file
# HAProxy's `crt` reads). DIR defaults to haproxy/certs, HOST to vigia.localhost; the certificate
# also covers localhost and 127.0.0.1. An existing pair is kept; delete DIR/vigia.pem to renew.
# Production: put your CA-issued certificate and key, concatenated, in haproxy/certs/vigia.pem.
set -euo pipefail

dir="${1:-$(dirname "$0")/../../haproxy/certs}"
host="${2:-${VIGIA_TLS_HOST:-vigia.localhost}}"
days="${VIGIA_TLS_DAYS:-825}"

mkdir -p "$dir"
if [[ -s "$dir/vigia.pem" ]]; then
    echo "keeping $dir/vigia.pem (delete it to make a new pair)"
    exit 0
fi
umask 077
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days "$days" \
    -subj "/CN=$host/O=Vigia development" \
    -addext "subjectAltName=DNS:$host,DNS:localhost,IP:127.0.0.1,IP:::1" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -addext "keyUsage=critical,digitalSignature" \
    -addext "extendedKeyUsage=serverAuth" \
    -keyout "$tmp/vigia.key" -out "$tmp/vigia.crt" 2>/dev/null
cat "$tmp/vigia.crt" "$tmp/vigia.key" > "$tmp/vigia.pem"
# HAProxy's image runs as its own user (uid 99), which reads the bind-mounted bundle: the
# development bundle is world-readable; vigia.key alone stays private. A production bundle should
# be owned by uid 99 with mode 0400 (or be mounted as a secret).
chmod 600 "$tmp/vigia.key"
chmod 644 "$tmp/vigia.crt" "$tmp/vigia.pem"
mv "$tmp/vigia.crt" "$tmp/vigia.key" "$tmp/vigia.pem" "$dir/"
echo "wrote $dir/vigia.pem (self-signed for $host, localhost, 127.0.0.1; $days days)"
