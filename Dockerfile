# sidegate: one image, `sidegate` entrypoint (sidecar | local | policy | approvals | audit …).
# Build stage compiles TypeScript ahead of time; the runtime stage carries production
# dependencies only and runs as the sidecar's uid/gid 7331 (excluded from traffic capture).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY sidecar ./sidecar
COPY policies ./policies
COPY webhook ./webhook
COPY test ./test
RUN npx tsc -p tsconfig.json && rm -rf dist/test

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends iptables ca-certificates && rm -rf /var/lib/apt/lists/* \
 && groupadd -g 7331 sidegate && useradd -u 7331 -g 7331 -M -s /usr/sbin/nologin sidegate
WORKDIR /opt/sidegate
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY policies ./policies
USER 7331:7331
EXPOSE 16001 16002
ENTRYPOINT ["node", "/opt/sidegate/dist/sidecar/cli/main.js"]
CMD ["sidecar", "--help"]
