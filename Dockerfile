# Build the release binary, then run it from a minimal image as a non-root user.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY web ./web
COPY tests ./tests
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home gateway \
    && mkdir -p /config && chown gateway /config
COPY --from=build /src/target/release/llm-gateway /usr/local/bin/llm-gateway
COPY config.example.json /config/config.example.json
ENV CONFIG_PATH=/config/config.json PROXY_PORT=8080 METRICS_PORT=9090
EXPOSE 8080 9090
VOLUME /config
USER gateway
ENTRYPOINT ["/usr/local/bin/llm-gateway"]
