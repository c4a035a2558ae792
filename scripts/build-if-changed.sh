#!/usr/bin/env bash
# `npm start`'s build step: compile only when a source changed since the last build. A no-change
# `tsc --incremental` still spends seconds re-checking the program; comparing modification times
# against a stamp takes milliseconds. Directories count too, so an added, removed or renamed file
# (which keeps its own mtime) also triggers a build.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=dist/.build-stamp
if [ -f "$stamp" ] && [ -z "$(find core cli sidecar webhook broker exchange policies test tsconfig.json package.json package-lock.json \
    -newer "$stamp" \( -type d -o -name '*.ts' -o -name '*.json' \) -not -path 'test/.run*' -print -quit)" ]; then
  exit 0
fi
npm run -s build   # touches the stamp
