# Multi-stage: a fully static (musl) binary, run from an empty image as a non-root user.
#   docker build -t llm-gateway .
#   docker run -p 8080:8080 -p 9090:9090 -v ./config.json:/config/config.json \
#       -e ANTHROPIC_API_KEY=... llm-gateway
FROM rust:1-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends musl-tools \
    && rm -rf /var/lib/apt/lists/* \
    && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY web ./web
COPY tests ./tests
COPY config.example.json ./
RUN cargo build --release --locked --target x86_64-unknown-linux-musl \
    && mkdir -p /out/config \
    && cp target/x86_64-unknown-linux-musl/release/llm-gateway /out/llm-gateway \
    && cp config.example.json /out/config/config.example.json

FROM scratch
COPY --from=build /out/llm-gateway /llm-gateway
COPY --from=build --chown=10001:10001 /out/config /config
ENV CONFIG_PATH=/config/config.json PROXY_PORT=8080 METRICS_PORT=9090
EXPOSE 8080 9090
VOLUME /config
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=6s --start-period=5s --retries=3 \
    CMD ["/llm-gateway", "--healthcheck"]
ENTRYPOINT ["/llm-gateway"]
