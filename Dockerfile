# Builds webhook-worker in release mode and ships it on a slim Debian with only its C libraries.
FROM swift:6.1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libhiredis-dev libcurl4-openssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product webhook-worker --static-swift-stdlib \
    && cp "$(swift build -c release --show-bin-path)/webhook-worker" /usr/local/bin/webhook-worker

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libhiredis0.14 libcurl4 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 webhook
COPY --from=build /usr/local/bin/webhook-worker /usr/local/bin/webhook-worker
USER webhook
WORKDIR /home/webhook
# SIGTERM stops a worker cleanly within WEBHOOK_SHUTDOWN_GRACE (8 s), inside Docker's 10 s.
STOPSIGNAL SIGTERM
ENTRYPOINT ["webhook-worker"]
CMD ["run"]
