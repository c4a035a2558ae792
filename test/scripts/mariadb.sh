#!/usr/bin/env bash
# Installs (if missing) and starts the MariaDB 10.11 the MySQL-protocol tests use: loopback only,
# TLS on with a CA this script makes, one mysql_native_password and one ed25519 login so each
# upstream authentication path can be exercised for real.
#
#   test/scripts/mariadb.sh start   # idempotent; writes $SIDEGATE_TEST_RUN/mariadb.json
#   test/scripts/mariadb.sh stop
set -euo pipefail
# shellcheck source=test-tls.sh
source "$(dirname "$0")/test-tls.sh"

RUN="${SIDEGATE_TEST_RUN:-/var/tmp/sidegate-test}"
PORT="${SIDEGATE_TEST_MARIADB_PORT:-33306}"
BASE="$RUN/mariadb"
DATA="$BASE/data"
TLS="$BASE/tls"
SOCK="$BASE/mariadb.sock"
CNF="$BASE/my.cnf"

install_packages() {
  local need=()
  [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
  command -v mariadb >/dev/null || need+=(mariadb-client)
  command -v openssl >/dev/null || need+=(openssl)
  if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  # Debian's package may start a server of its own on 3306; we never use it.
}


write_config() {
  cat > "$CNF" <<CONFIG
[mariadbd]
user = mysql
datadir = $DATA
socket = $SOCK
pid-file = $BASE/mariadbd.pid
log-error = $BASE/server.log
port = $PORT
bind-address = 127.0.0.1
skip-name-resolve
ssl-ca = $TLS/ca.crt
ssl-cert = $TLS/server.crt
ssl-key = $TLS/server.key
plugin-load-add = auth_ed25519
innodb_flush_log_at_trx_commit = 0
innodb_buffer_pool_size = 128M
max_connections = 300
CONFIG
}

init_datadir() {
  [ -d "$DATA/mysql" ] && return 0
  mkdir -p "$DATA"
  chown -R mysql:mysql "$BASE"
  chmod 755 "$RUN" "$BASE"
  mariadb-install-db --defaults-file="$CNF" --user=mysql --auth-root-authentication-method=socket --skip-test-db >/dev/null
}

running() { mariadb-admin --socket="$SOCK" -u root ping >/dev/null 2>&1; }

sql_root() { mariadb --socket="$SOCK" -u root "$@"; }

seed() {
  sql_root <<'SQL'
CREATE USER IF NOT EXISTS sidegate_native@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('native-Target-Pw-3c81f0');
CREATE USER IF NOT EXISTS sidegate_ed25519@'%' IDENTIFIED VIA ed25519 USING PASSWORD('ed25519-Target-Pw-a92d4e');
-- Known credentials on every start, whatever a test did to them.
ALTER USER sidegate_native@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('native-Target-Pw-3c81f0');
ALTER USER sidegate_ed25519@'%' IDENTIFIED VIA ed25519 USING PASSWORD('ed25519-Target-Pw-a92d4e');
CREATE DATABASE IF NOT EXISTS sidegate_test;
CREATE TABLE IF NOT EXISTS sidegate_test.customers (
  id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, email varchar(200) NOT NULL, card varchar(32), notes text
);
INSERT INTO sidegate_test.customers (id, name, email, card, notes) VALUES
  (1, 'Ada Lovelace', 'ada@example.com', '4111111111111111', 'prefers email'),
  (2, 'Alan Turing', 'alan@example.org', '5500005555555559', 'key AKIAIOSFODNN7EXAMPLE in notes'),
  (3, 'Grace Hopper', 'grace@example.net', NULL, 'nothing sensitive')
  ON DUPLICATE KEY UPDATE id = id;
GRANT ALL ON sidegate_test.* TO sidegate_native@'%', sidegate_ed25519@'%';
SQL
}

write_info() {
  cat > "$RUN/mariadb.json" <<INFO
{
  "host": "127.0.0.1",
  "port": $PORT,
  "socket": "$SOCK",
  "database": "sidegate_test",
  "caFile": "$TLS/ca.crt",
  "users": {
    "native": { "user": "sidegate_native", "password": "native-Target-Pw-3c81f0" },
    "ed25519": { "user": "sidegate_ed25519", "password": "ed25519-Target-Pw-a92d4e" }
  }
}
INFO
}

start() {
  install_packages
  mkdir -p "$BASE"
  make_test_tls "$TLS" mysql "sidegate test MariaDB CA"
  write_config
  init_datadir
  if ! running; then
    # Detached from this shell; the server writes its own log and pid file.
    setsid /usr/sbin/mariadbd --defaults-file="$CNF" </dev/null >/dev/null 2>&1 &
    for _ in $(seq 1 120); do running && break; sleep 0.5; done
    running || { echo "mariadb did not start; see $BASE/server.log" >&2; tail -20 "$BASE/server.log" >&2 || true; exit 1; }
  fi
  seed
  write_info
  echo "mariadb $(sql_root -N -e 'SELECT VERSION()') ready on 127.0.0.1:$PORT (TLS); details in $RUN/mariadb.json"
}

stop() {
  if running; then mariadb-admin --socket="$SOCK" -u root shutdown >/dev/null 2>&1 || true; fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
