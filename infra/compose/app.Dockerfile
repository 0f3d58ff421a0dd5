# The HT Base application image of the compose deployment (infra/compose/compose.yaml): the API with its web app,
# summarize and the sweeper, one image with a command per service, and the htbase CLI. Build from the repository root:
#   docker build -f infra/compose/app.Dockerfile -t htbase-app .

ARG NODE_IMAGE=node:22-bookworm-slim

# ---- stage 1: production node_modules ------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No lifecycle scripts: esbuild (the web app's bundler) finds its platform binary through optionalDependencies.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- stage 2: runtime ----------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
# tini as PID 1: SIGTERM reaches node, which drains the queue before it exits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
# The shared library and the functions; containers/ for the htbase CLI only (users, keys, backup, restore), which
# the services never load (the layering keeps functions from importing container code).
COPY shared ./shared
COPY functions ./functions
COPY containers ./containers
# The artifact volume's mount point, owned by the unprivileged user the services run as; `htbase` on PATH.
RUN mkdir -p /data && chown node:node /data \
 && ln -s /app/containers/standalone/cli/htbase.js /usr/local/bin/htbase
ENV NODE_ENV=production \
    HTBASE_DATA_DIR=/data \
    PORT=8080
USER node
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "functions/api/server.ts"]
