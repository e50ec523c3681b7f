# syntax=docker/dockerfile:1
# The Paddock operator image: the operator compiled to JavaScript (`make build`, tsconfig.build.json)
# and its production dependencies. Development runs the TypeScript sources directly (Node's type
# stripping); the image does not, which saves ~18 MiB of RSS and startup time (docs/benchmarks.md).
#
#   docker build -t ghcr.io/paddock-dev/paddock-operator:0.1.0 .
#
# Runtime: distroless Node.js 24 (no shell, no package manager), as user 65532 (nonroot), which
# the Deployment's restricted securityContext expects. Pin both images by digest for releases.
# Without Docker, `make images` builds an equivalent image reproducibly (docs/operations.md).

ARG NODE_VERSION=24

# --- dependencies: production node_modules only ------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev leaves out the toolchain, the tests' kubectl/helm layer and the pinned `node` package
# (the image has its own Node.js 24). --ignore-scripts: no dependency needs an install script.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- build: tsc compiles operator/src to JavaScript (imports rewritten from .ts to .js) ------------
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY operator/src ./operator/src
RUN node_modules/.bin/tsc -p tsconfig.build.json

# --- runtime -----------------------------------------------------------------------------------
FROM gcr.io/distroless/nodejs${NODE_VERSION}-debian12:nonroot
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="paddock-operator" \
      org.opencontainers.image.description="Paddock: runs AI agents on Kubernetes as sandboxed, approved, audited workflows." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
ENV NODE_ENV=production \
    PADDOCK_VERSION=${VERSION}
COPY --from=deps --chown=0:0 /app/node_modules ./node_modules
COPY --chown=0:0 package.json ./
# Same layout as the sources (operator/src/*.js): paths relative to a module, like the CRDs', hold.
COPY --from=build --chown=0:0 /app/dist/operator/src ./operator/src
# The operator validates with the CRD schemas at run time (operator/src/api/schemas.ts reads crds/).
COPY --chown=0:0 crds ./crds
# Files owned by root and not writable: the process (65532) can read, never modify, its code.
USER 65532:65532
EXPOSE 8080 8081
# The script is part of the entrypoint (distroless/nodejs's node is /nodejs/bin/node), so the
# Deployment's args are the operator's flags instead of replacing the script.
ENTRYPOINT ["/nodejs/bin/node", "/app/operator/src/main.js"]
