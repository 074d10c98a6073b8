# A stand-in for the official redis:7-bookworm image (no registry here), from Debian's Redis 7.
ARG BASE=local/debian:bookworm
FROM ${BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/*
USER redis
CMD ["redis-server"]
