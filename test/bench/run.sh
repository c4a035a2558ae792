#!/usr/bin/env bash
# `npm run bench`: the full benchmark suite (about 30 minutes). Installs and starts what it needs
# (PostgreSQL 15 and MariaDB 10.11 via the test scripts; pgbouncer, pgpool-II, sysbench and
# HAProxy from Debian), builds, runs, writes test/bench/results/latest.{md,json} and
# docs/BENCHMARKS.md. Extra arguments go to the harness (e.g. --smoke, --rounds 5, --seconds 20,
# --only oltp --paths direct,haproxy).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! [ -x /usr/sbin/pgbouncer ] || ! [ -x /usr/sbin/pgpool ] || ! command -v sysbench >/dev/null || ! [ -x /usr/sbin/haproxy ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq pgbouncer pgpool2 sysbench haproxy >/dev/null
fi
bash test/scripts/postgres.sh start
bash test/scripts/mariadb.sh start
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
npm run -s build
if [ "${1:-}" = "--smoke" ]; then
  node dist/test/bench/run-bench.js "$@"
else
  node dist/test/bench/run-bench.js --docs "$@"
fi
