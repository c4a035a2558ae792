# syntax=docker/dockerfile:1
# sidegate: one image for every role, run through the `sidegate` entrypoint:
#   sidegate sidecar …   the per-pod proxy (injected as a native or classic sidecar)
#   sidegate init …      installs the pod's iptables/ip6tables redirect rules and exits (runs as
#                        root with NET_ADMIN/NET_RAW only, set by the injected securityContext)
#   sidegate webhook …   the mutating admission webhook (the Helm chart's Deployment)
# plus local, policy, approvals, audit, token and drain (the sidecar's preStop hook runs
# `sidegate drain`, so `sidegate` must be on PATH).
#
# Three stages: `build` compiles TypeScript with the dev dependencies, `production-dependencies`
# installs only what runs, and the runtime image gets the compiled JavaScript and those
# dependencies — no compiler, no test tooling, no tests, and no embedded demo database (PGlite is
# a dev dependency: `sidegate local` in the image needs --upstream).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY core ./core
COPY cli ./cli
COPY sidecar ./sidecar
COPY policies ./policies
COPY webhook ./webhook
COPY broker ./broker
COPY exchange ./exchange
# tsconfig includes test/ and some unit tests import its helpers; the compiled tests are dropped.
COPY test ./test
RUN npx tsc -p tsconfig.json \
 && rm -rf dist/test \
 && find dist \( -name '*.test.js' -o -name '*.test.js.map' \) -delete

FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
# iptables (with ip6tables, iptables-restore and both the nft and legacy back ends) for `init`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 7331 sidegate \
 && useradd --uid 7331 --gid 7331 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin sidegate
ENV NODE_ENV=production
WORKDIR /opt/sidegate
# package.json carries "type": "module", which the compiled ESM needs.
COPY package.json LICENSE ./
COPY --from=production-dependencies /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# Local mode's default policy, and the JSON Schema for editors.
COPY policies/examples ./policies/examples
COPY policies/policy.schema.json ./policies/policy.schema.json
RUN chmod 0755 dist/cli/main.js \
 && ln -s /opt/sidegate/dist/cli/main.js /usr/local/bin/sidegate
# The sidecar's uid/gid: its own traffic is excluded from capture by owner match.
USER 7331:7331
EXPOSE 16001 16002 8443
ENTRYPOINT ["sidegate"]
CMD ["--help"]
