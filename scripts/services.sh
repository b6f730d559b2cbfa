#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432, trust auth, database `test`) and Redis
# (127.0.0.1:6379) are up, installing them from Debian's packages where a machine has none.
# The PostgreSQL and Redis tests need both; they never skip.
set -euo pipefail

log() { printf 'services: %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=
apt_install() {
  [ -n "$apt_updated" ] || { as_root apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }

# PostgreSQL
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  log "installing PostgreSQL from Debian's packages"
  apt_install postgresql postgresql-client
  installed_pg=1
fi
if ! pg_up; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  if [ "${installed_pg:-}" = 1 ]; then
    # A fresh install asks for passwords on TCP; the tests use trust on loopback only.
    hba=/etc/postgresql/$version/main/pg_hba.conf
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  log "starting PostgreSQL $version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 50); do pg_up && break; sleep 0.2; done
fi
pg_up || { log "PostgreSQL is not reachable on 127.0.0.1:5432"; exit 1; }
if ! psql -h 127.0.0.1 -U postgres -d test -tAc 'SELECT 1' >/dev/null 2>&1; then
  log "creating database test"
  psql -h 127.0.0.1 -U postgres -d postgres -tAc 'CREATE DATABASE test' >/dev/null
fi
log "PostgreSQL ready"

# Redis
if ! command -v redis-server >/dev/null 2>&1; then
  log "installing Redis from Debian's packages"
  apt_install redis-server redis-tools
fi
if ! redis_up; then
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 50); do redis_up && break; sleep 0.2; done
fi
redis_up || { log "Redis is not reachable on 127.0.0.1:6379"; exit 1; }
log "Redis ready"
