# syntax=docker/dockerfile:1
# Kiln's container image: one image for every process (`kiln web`, `kiln worker`, `kiln migrate`,
# `kiln backup`); the command chooses. Kiln runs its TypeScript through tsx (a production
# dependency), so there is no separate compile step; the stylesheet is built here, once.
#
#   docker build -t kiln .
#   docker run --read-only --tmpfs /tmp -v kiln-data:/data -e DATABASE_URL=... -e SESSION_SECRET=... kiln web

ARG NODE_IMAGE=node:20-bookworm-slim

# Production dependencies only (sharp brings its own libvips for linux-x64 and linux-arm64).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# The application, and the compiled stylesheet in .cache/assets so nothing is written at start-up.
FROM deps AS app
COPY bin ./bin
COPY src ./src
RUN node --import tsx --input-type=module \
      -e "const { buildStylesheet } = await import('./src/platform/views/index.ts'); console.log(await buildStylesheet());"

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data \
    TMPDIR=/tmp
WORKDIR /app
# Owned by root and read-only to the process; only /data (uploads, the demo seal) and /tmp are written.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=app /app/.cache ./.cache
COPY --from=app /app/src ./src
COPY --from=app /app/bin ./bin
COPY package.json ./
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# /healthz on the web port, or on WORKER_HEALTH_PORT for `kiln worker`.
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.WORKER_HEALTH_PORT || process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM reaches node directly (exec form), which drains and exits.
ENTRYPOINT ["node", "--import", "tsx", "src/cli.ts"]
CMD ["web"]
