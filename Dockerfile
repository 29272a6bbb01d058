# ehcd on Debian 12, built from this repository with the same Debian packages as ./ehc up.
FROM debian:12 AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libuv1-dev libpq-dev libcjson-dev libh2o-dev \
      libcurl4-openssl-dev libargon2-dev libssl-dev libcairo2-dev libpango1.0-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEHC_TESTS=OFF \
    && cmake --build /build -j "$(nproc)"

# the browser interface: GOV.UK Frontend and Chart.js from npm (locked), copied next to our pages
FROM debian:12 AS web
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /web
COPY api/web/ .
RUN rm -rf node_modules && npm ci --omit=dev --no-audit --no-fund && node scripts/copy-assets.mjs \
    && rm -rf node_modules

FROM debian:12
RUN apt-get update && apt-get install -y --no-install-recommends \
      libuv1 libpq5 libcjson1 libh2o0.13 libcurl4 libargon2-1 libssl3 curl ca-certificates tzdata \
      libcairo2 libpango-1.0-0 libpangocairo-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /nonexistent --shell /usr/sbin/nologin ehcd
COPY --from=build /build/ehcd /usr/local/bin/ehcd
COPY workflows /usr/share/ehcd/workflows
COPY notices /usr/share/ehcd/notices
COPY --from=web /web /usr/share/ehcd/web
ENV EHCD_LISTEN=0.0.0.0:8080 \
    EHCD_WORKFLOWS_DIR=/usr/share/ehcd/workflows \
    EHCD_NOTICES_DIR=/usr/share/ehcd/notices \
    EHCD_WEB_ROOT=/usr/share/ehcd/web
USER ehcd
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/readyz >/dev/null || exit 1
ENTRYPOINT ["/usr/local/bin/ehcd"]
CMD ["serve"]
