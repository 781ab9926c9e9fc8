#!/usr/bin/env bash
# Make this machine ready to run or test Vigia without containers:
#   PostgreSQL, Redis and RabbitMQ answering on localhost (started if installed, installed with apt
#   when missing and we are root, otherwise we say exactly what to install), RabbitMQ's
#   management and consistent-hash plugins enabled, and .venv with every service installed editable.
# Idempotent and quiet when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
say() { printf '\033[1;34m[bootstrap]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[bootstrap]\033[0m %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {  # port, seconds, name
  for _ in $(seq 1 $(( $2 * 4 ))); do port_open "$1" && return 0; sleep 0.25; done
  die "$3 did not answer on 127.0.0.1:$1 within $2 s"
}

# Known harmless install noise, dropped so real warnings and errors stand out: pip's complaint about
# index locations a machine's pip.conf names but that do not exist, setuptools' multi-line warning
# on every editable install, and debconf's note on machines without apt-utils.
drop_install_noise() {
  awk '
    /^WARNING: Location .* is ignored: it is neither a file nor a directory\.$/ { next }
    /^debconf: delaying package configuration, since apt-utils is not installed$/ { next }
    /BuildBackendWarning: Editable installation\./ { block = 1; next }
    block && /^[[:space:]]*$/ { next }
    block && /^[[:space:]]/ { if ($0 ~ /with strategy, WheelFile\(/) block = 0; next }
    { block = 0; print }
  '
}

pip_install() {  # pip install arguments: quiet, known noise dropped; pip's failure is ours (pipefail)
  "$VENV/bin/python" -m pip install -q "$@" 2>&1 | drop_install_noise >&2 \
    || die "pip install failed (its messages are above)"
}

APT_UPDATED=0
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    die "missing: $*. Install it (Debian/Ubuntu: sudo apt-get install -y $*) and run again."
  fi
  if [ "$APT_UPDATED" = 0 ]; then say "apt-get update"; DEBIAN_FRONTEND=noninteractive apt-get update -qq; APT_UPDATED=1; fi
  say "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" 2>&1 >/dev/null | drop_install_noise >&2
}

ensure_postgres() {
  port_open 5432 && return 0
  if ! command -v pg_ctlcluster >/dev/null; then apt_install postgresql postgresql-contrib; fi
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
  [ -n "$version" ] || die "PostgreSQL is installed but has no cluster (try: pg_createcluster 15 main)"
  say "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_port 5432 30 PostgreSQL
  if ! psql -h 127.0.0.1 -U postgres -Atc 'select 1' >/dev/null 2>&1; then
    # A fresh Debian cluster only trusts the postgres OS user over the socket: allow local TCP.
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    if [ -w "$hba" ]; then
      say "allowing trusted local TCP connections in $hba (development machine)"
      sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
      pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    fi
  fi
}

ensure_redis() {
  port_open 6379 && return 0
  command -v redis-server >/dev/null || apt_install redis-server
  say "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "${REDIS_DIR:-/var/lib/redis}" --logfile "${REDIS_LOG:-/var/log/redis/vigia.log}"
  wait_port 6379 15 Redis
}

ensure_rabbitmq() {
  if ! port_open 5672; then
    command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
    say "starting RabbitMQ"
    rabbitmq-server -detached
    wait_port 5672 90 RabbitMQ
  fi
  if ! port_open 15672; then
    say "enabling RabbitMQ plugins: management, consistent-hash exchange"
    rabbitmq-plugins enable rabbitmq_management rabbitmq_consistent_hash_exchange >/dev/null
    wait_port 15672 60 "RabbitMQ management"
  elif ! rabbitmq-plugins list -e -m 2>/dev/null | grep -q rabbitmq_consistent_hash_exchange; then
    rabbitmq-plugins enable rabbitmq_consistent_hash_exchange >/dev/null
  fi
}

ensure_tools() {
  # ffprobe checks camera reachability (control) and FFmpeg pulls RTSP (streamer).
  command -v ffprobe >/dev/null || apt_install ffmpeg
  # Deployment checks: promtool validates Prometheus config and alert rules, haproxy -c the edge,
  # openssl makes development certificates. kubectl (renders k8s/) comes with the machine image:
  # Debian's kubernetes-client is too old for the kustomizations.
  command -v promtool >/dev/null || apt_install prometheus
  command -v haproxy >/dev/null || apt_install haproxy
  command -v openssl >/dev/null || apt_install openssl
  # Held-out plate typefaces (tests/plates/heldout.py HELDOUT_FACES; training must not use them).
  dpkg -s fonts-dejavu-core fonts-urw-base35 fonts-roboto-unhinted fonts-open-sans fonts-paratype fonts-b612 >/dev/null 2>&1 || apt_install fonts-dejavu-core fonts-urw-base35 fonts-roboto-unhinted fonts-open-sans fonts-paratype fonts-b612
  # Plate training typefaces (vigia.vision.plates.training.synth FONT_PACKAGES; none held out).
  local training_fonts=(fonts-opendin fonts-liberation fonts-freefont-ttf fonts-croscore fonts-lato fonts-cantarell fonts-inter fonts-league-spartan fonts-karla fonts-cabin fonts-clear-sans fonts-play fonts-bebas-neue fonts-adf-switzera fonts-adf-gillius fonts-jura fonts-beteckna fonts-manrope)
  dpkg -s "${training_fonts[@]}" >/dev/null 2>&1 || apt_install "${training_fonts[@]}"
  command -v kubectl >/dev/null || say "kubectl not found: tests/deploy/test_k8s.py will fail (install kubectl >= 1.27)"
}

ensure_gstreamer() {
  # camsim's RTSP server runs under Debian's python3 with GStreamer's RTSP server bindings:
  # appsrc (plugins-base), x264enc (plugins-ugly), rtph264pay (plugins-good), numpy + OpenCV.
  /usr/bin/python3 -c 'import gi, numpy, cv2; gi.require_version("Gst", "1.0"); gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer; Gst.init(None)
assert all(Gst.ElementFactory.find(e) for e in ("appsrc", "x264enc", "rtph264pay"))' \
    >/dev/null 2>&1 && return 0
  apt_install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
    gstreamer1.0-plugins-ugly python3-numpy python3-opencv
}

ensure_venv() {
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "Python 3.11+ is needed ($PYTHON is $("$PYTHON" -V 2>&1))"
  [ -x "$VENV/bin/python" ] || { say "creating $VENV"; "$PYTHON" -m venv "$VENV"; }
  local stamp="$VENV/.vigia-installed" want
  want=$(cat services/*/pyproject.toml requirements-dev.txt 2>/dev/null | sha256sum | cut -c1-16)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing Python packages into $VENV (first run takes a few minutes)"
    pip_install --upgrade pip
    local editable=()
    for dir in services/common services/*/; do
      dir=${dir%/}
      [ -f "$dir/pyproject.toml" ] || continue
      case " ${editable[*]-} " in *" -e $dir "*) continue;; esac
      editable+=(-e "$dir")
    done
    pip_install "${editable[@]}" -r requirements-dev.txt
    # opencv-python (ultralytics), -headless (easyocr, camsim) and -contrib-headless (vision: HOG,
    # cascades) all unpack into the same cv2/ folder, in whatever order pip picks: the contrib
    # build is a superset of the others, so it has the last word.
    if "$VENV/bin/python" -m pip show -q opencv-contrib-python-headless 2>/dev/null; then
      local contrib
      contrib=$("$VENV/bin/python" -m pip show opencv-contrib-python-headless | awk '/^Version:/ {print $2}')
      pip_install --force-reinstall --no-deps "opencv-contrib-python-headless==$contrib"
    fi
    echo "$want" > "$stamp"
  fi
}

ensure_database() {  # the database VIGIA_DATABASE_URL names (default: vigia on the local PostgreSQL)
  local url=${VIGIA_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/vigia} query="" name admin
  case "$url" in *\?*) query="?${url#*\?}"; url=${url%%\?*};; esac
  name=${url##*/}
  admin="${url%/*}/postgres$query"  # the maintenance database of the same server, same user
  psql "$admin" -Atc "select 1 from pg_database where datname='$name'" | grep -q 1 \
    || { say "creating database $name"; createdb --maintenance-db="$admin" "$name"; }
}

ensure_postgres
ensure_redis
ensure_rabbitmq
ensure_tools
ensure_gstreamer
ensure_venv
ensure_database
