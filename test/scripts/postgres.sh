#!/usr/bin/env bash
# Installs (if missing) and starts the PostgreSQL 15 the tests and benchmarks use: loopback only,
# TLS on with a CA this script makes, SCRAM-SHA-256 by default plus one md5 and one cleartext
# ('password' method) login so every upstream authentication path is exercised for real.
#
#   test/scripts/postgres.sh start   # idempotent; writes $SIDEGATE_TEST_RUN/pg.json
#   test/scripts/postgres.sh stop
#
# Everything lives under $SIDEGATE_TEST_RUN (default /var/tmp/sidegate-test) so the postgres OS
# user can read it wherever the repository is cloned.
set -euo pipefail
# shellcheck source=test-tls.sh
source "$(dirname "$0")/test-tls.sh"

RUN="${SIDEGATE_TEST_RUN:-/var/tmp/sidegate-test}"
PGPORT="${SIDEGATE_TEST_PGPORT:-55432}"
DATA="$RUN/pg/data"
TLS="$RUN/pg/tls"
SOCK="$RUN/pg/sock"
PGBIN=/usr/lib/postgresql/15/bin

install_packages() {
  local need=()
  [ -x "$PGBIN/postgres" ] || need+=(postgresql-15 postgresql-client-15)
  command -v psql >/dev/null || need+=(postgresql-client-15)
  command -v openssl >/dev/null || need+=(openssl)
  command -v runuser >/dev/null || need+=(util-linux)
  if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  # Debian's package starts a cluster of its own on 5432; we never use it.
}

as_pg() { runuser -u postgres -- "$@"; }


init_cluster() {
  [ -f "$DATA/PG_VERSION" ] && return 0
  mkdir -p "$DATA" "$SOCK"
  chown -R postgres:postgres "$RUN/pg"
  chmod 755 "$RUN" "$RUN/pg"
  as_pg "$PGBIN/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  cat >> "$DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1,::1'
port = $PGPORT
unix_socket_directories = '$SOCK'
ssl = on
ssl_cert_file = '$TLS/server.crt'
ssl_key_file = '$TLS/server.key'
password_encryption = 'scram-sha-256'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
log_min_messages = warning
EOF
  cat > "$DATA/pg_hba.conf" <<EOF
local all postgres trust
host  all sidegate_md5   127.0.0.1/32 md5
host  all sidegate_md5   ::1/128      md5
host  all sidegate_plain 127.0.0.1/32 password
host  all sidegate_plain ::1/128      password
host  all all 127.0.0.1/32 scram-sha-256
host  all all ::1/128      scram-sha-256
EOF
  chown postgres:postgres "$DATA/postgresql.conf" "$DATA/pg_hba.conf"
}

psql_su() { as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PGPORT" -U postgres "$@"; }

seed() {
  psql_su -d postgres <<'EOF'
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sidegate_scram') THEN
    SET password_encryption = 'scram-sha-256';
    CREATE ROLE sidegate_scram LOGIN PASSWORD 'scram-Target-Pw-7f3a9c';
    SET password_encryption = 'md5';
    CREATE ROLE sidegate_md5 LOGIN PASSWORD 'md5-Target-Pw-41be02';
    CREATE ROLE sidegate_plain LOGIN PASSWORD 'plain-Target-Pw-99d1e7';
  END IF;
END $$;
EOF
  # The benchmark harness has a database of its own, so a benchmark never races a test's tables.
  if ! psql_su -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='sidegate_bench'" | grep -q 1; then
    psql_su -d postgres -c "CREATE DATABASE sidegate_bench OWNER sidegate_scram"
  fi
  if ! psql_su -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='sidegate_test'" | grep -q 1; then
    psql_su -d postgres -c "CREATE DATABASE sidegate_test OWNER sidegate_scram"
    psql_su -d sidegate_test -c "GRANT ALL ON SCHEMA public TO sidegate_md5, sidegate_plain"
    as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PGPORT" -U postgres -d sidegate_test <<'EOF'
SET ROLE sidegate_scram;
CREATE TABLE customers (
  id serial PRIMARY KEY, name text NOT NULL, email text NOT NULL, card text, notes text, balance numeric(12,2) DEFAULT 0
);
INSERT INTO customers (name, email, card, notes, balance) VALUES
  ('Ada Lovelace', 'ada@example.com', '4111111111111111', 'prefers email', 120.50),
  ('Alan Turing', 'alan@example.org', '5500005555555559', 'key AKIAIOSFODNN7EXAMPLE in notes', 99.00),
  ('Grace Hopper', 'grace@example.net', NULL, 'nothing sensitive', 0);
CREATE TABLE orders (id serial PRIMARY KEY, customer_id int REFERENCES customers(id), total numeric(12,2), created_at timestamptz DEFAULT now());
INSERT INTO orders (customer_id, total) SELECT 1 + (g % 3), g FROM generate_series(1, 50) g;
CREATE SCHEMA audit_only;
CREATE TABLE audit_only.events (id serial PRIMARY KEY, body text);
GRANT ALL ON ALL TABLES IN SCHEMA public TO sidegate_md5, sidegate_plain;
GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO sidegate_md5, sidegate_plain;
EOF
  fi
}

write_info() {
  cat > "$RUN/pg.json" <<EOF
{
  "host": "127.0.0.1",
  "port": $PGPORT,
  "socketDir": "$SOCK",
  "database": "sidegate_test",
  "caFile": "$TLS/ca.crt",
  "users": {
    "scram": { "user": "sidegate_scram", "password": "scram-Target-Pw-7f3a9c" },
    "md5": { "user": "sidegate_md5", "password": "md5-Target-Pw-41be02" },
    "plain": { "user": "sidegate_plain", "password": "plain-Target-Pw-99d1e7" }
  }
}
EOF
}

start() {
  install_packages
  mkdir -p "$RUN"
  make_test_tls "$TLS" postgres "sidegate test CA"
  init_cluster
  # A server still running from before a package upgrade has its libraries replaced under it
  # (plpgsql then fails to load): restart it on the new binaries.
  if [ -f "$DATA/postmaster.pid" ] && readlink "/proc/$(head -1 "$DATA/postmaster.pid")/exe" 2>/dev/null | grep -q '(deleted)'; then
    as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w restart -l "$RUN/pg/server.log" >/dev/null
  fi
  if ! as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$RUN/pg/server.log" -w -t 60 start >/dev/null
  fi
  seed
  write_info
  echo "postgres 15 ready on 127.0.0.1:$PGPORT (TLS, SCRAM); details in $RUN/pg.json"
}

stop() {
  [ -f "$DATA/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
