# llm-gateway — common tasks. `make test` is what CI runs.

CARGO ?= cargo

.PHONY: build run test browser-test bench bench-static eval-router soak release static install fmt lint clean

build:
	$(CARGO) build

# The gateway on the built-in demo backend: real answers, no outside service.
run:
	$(CARGO) run --release -- --demo

# Unit and end-to-end tests, then the dashboard in headless Chromium (installed if missing).
test:
	$(CARGO) test
	bash tests/browser/run.sh

browser-test:
	bash tests/browser/run.sh

# Gateway vs. the same mock backend hit directly (installs wrk if missing).
bench:
	$(CARGO) build --release
	$(CARGO) bench --bench gateway

# The same bench against the static musl binary.
bench-static: static
	LLM_GATEWAY_BIN=$(CURDIR)/target/x86_64-unknown-linux-musl/release/llm-gateway $(CARGO) bench --bench gateway


# Smart-router classifier accuracy on the labelled prompts (tuning and held-out parts).
eval-router:
	$(CARGO) test --release --test router_eval -- --nocapture

# A bounded soak (default 5 minutes; SOAK_SECS to change) of mixed load through the release
# gateway, failing on memory, thread or descriptor growth.
soak:
	$(CARGO) test --release --test soak -- --ignored --nocapture

release:
	$(CARGO) build --release
	@ls -l target/release/llm-gateway

# A fully static x86_64 musl binary (installs the target and musl-tools if missing), and an
# aarch64 one where a cross toolchain is available.
static:
	@command -v musl-gcc >/dev/null || (apt-get update -qq && apt-get install -y -qq musl-tools)
	rustup target add x86_64-unknown-linux-musl
	$(CARGO) build --release --target x86_64-unknown-linux-musl
	@ls -l target/x86_64-unknown-linux-musl/release/llm-gateway
	@if command -v aarch64-linux-musl-gcc >/dev/null; then \
		rustup target add aarch64-unknown-linux-musl && \
		CC_aarch64_unknown_linux_musl=aarch64-linux-musl-gcc \
		CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-musl-gcc \
		$(CARGO) build --release --target aarch64-unknown-linux-musl; \
	else echo "aarch64: no aarch64-linux-musl-gcc cross compiler here; skipped"; fi

# Binary, systemd unit and an example config (kept if one exists).
PREFIX ?= /usr/local
install: release
	install -D -m 0755 target/release/llm-gateway $(DESTDIR)$(PREFIX)/bin/llm-gateway
	install -D -m 0644 src/deploy/llm-gateway.service $(DESTDIR)/etc/systemd/system/llm-gateway.service
	@if [ ! -e $(DESTDIR)/etc/llm-gateway/config.json ]; then \
		install -D -m 0644 config.example.json $(DESTDIR)/etc/llm-gateway/config.json; fi
	@if command -v systemd-analyze >/dev/null; then \
		systemd-analyze verify $(DESTDIR)/etc/systemd/system/llm-gateway.service || true; fi
	@echo "installed; start with: systemctl daemon-reload && systemctl enable --now llm-gateway"

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

clean:
	$(CARGO) clean
