# The gateway on the official Node 24 image: production dependencies only, non-root, no build step
# (Node 24 runs the TypeScript sources directly).
FROM node:24-slim

ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    DATA_DIR=/app/data

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY src ./src
COPY plugins ./plugins
COPY schemas ./schemas
# The web app and the client library it loads, served as they are (no build step).
COPY public ./public
COPY client ./client
RUN mkdir -p /app/data && chown node:node /app/data

USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM lets running turns finish (SHUTDOWN_GRACE_MS) before the process exits.
STOPSIGNAL SIGTERM
CMD ["node", "src/server.ts"]
