#!/usr/bin/env bash
# Prints the path of promtool (Prometheus' own checker of the text exposition format) for the
# metrics tests, installing it on first use.
#
# promtool ships in Debian's `prometheus` package. Installing that package would also install and
# start a Prometheus server, so only the package file is downloaded (apt-get download, verified by
# apt against the signed archive) and promtool alone is taken out of it into a cache.
#
# Usage:  PROMTOOL="$(bash test/support/get-promtool.sh)"
# Cache:  $SIDEGATE_TOOLS_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/sidegate/tools)
set -euo pipefail

log() { printf 'get-promtool: %s\n' "$*" >&2; }

if command -v promtool >/dev/null; then
  command -v promtool
  exit 0
fi

tools_dir="${SIDEGATE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sidegate/tools}"
bin="${tools_dir}/promtool/promtool"
if [ -x "${bin}" ]; then
  printf '%s\n' "${bin}"
  exit 0
fi

mkdir -p "${tools_dir}"
scratch="$(mktemp -d "${tools_dir}/.get-promtool.XXXXXX")"
trap 'rm -rf "${scratch}"' EXIT
log "downloading Debian's prometheus package for promtool"
(
  cd "${scratch}"
  apt-get download prometheus >&2 2>/dev/null || { apt-get update -qq >&2 && apt-get download prometheus >&2; }
)
deb="$(ls "${scratch}"/prometheus_*.deb)"
dpkg-deb --fsys-tarfile "${deb}" | tar -x -C "${scratch}" ./usr/bin/promtool
mkdir -p "${tools_dir}/promtool"
mv -f "${scratch}/usr/bin/promtool" "${bin}"
log "$("${bin}" --version 2>&1 | head -1) at ${bin}"
printf '%s\n' "${bin}"
