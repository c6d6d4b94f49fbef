# Builds webhook-worker in release mode, then ships it on a slim Debian with only the C libraries
# it links (hiredis, libcurl, OpenSSL's libcrypto) and no Swift toolchain: the Swift runtime is linked statically.
#   docker build -t webhook-worker .
# Build and runtime stages are both Debian 12 (bookworm), so the libraries the binary was linked
# against at build time are the ones it finds at run time.

FROM swift:6.3-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libhiredis-dev libcurl4-openssl-dev libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, in their own layer, so a source change does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
# The package declares its test targets; SwiftPM wants their directories present to load it.
COPY Tests ./Tests
RUN swift build -c release --product webhook-worker --static-swift-stdlib \
    && install -m 0755 "$(swift build -c release --show-bin-path)/webhook-worker" /usr/local/bin/webhook-worker \
    && strip /usr/local/bin/webhook-worker

FROM debian:bookworm-slim
# libhiredis0.14, libcurl4 and libssl3 (libcrypto: request signing, and libcurl's TLS) are the
# runtime halves of the -dev packages above; ca-certificates for HTTPS endpoints (TLS
# verification stays on); tzdata for local times in logs; curl only for the docker-compose health
# checks (`curl -fsS http://127.0.0.1:9464/livez`).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libhiredis0.14 libcurl4 libssl3 ca-certificates tzdata curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 webhook \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin webhook
COPY --from=build /usr/local/bin/webhook-worker /usr/local/bin/webhook-worker
# Numeric, so Kubernetes' runAsNonRoot can verify it (deploy/kubernetes uses the same 10001).
USER 10001:10001
# The worker reads an optional `.env` from its working directory: mount one at /app/.env, or
# (better in containers) pass the environment.
WORKDIR /app
# SIGTERM stops a worker cleanly within WEBHOOK_SHUTDOWN_GRACE (8 s), inside Docker's default
# 10 s stop timeout and the 30 s terminationGracePeriodSeconds of deploy/kubernetes.
STOPSIGNAL SIGTERM
# Exec form: the worker is PID 1 and receives the signal itself; no shell is involved.
ENTRYPOINT ["webhook-worker"]
CMD ["run"]
