# llm-gateway — common tasks. `make test` is what CI runs.

CARGO ?= cargo

.PHONY: build run test bench eval-router release fmt lint clean

build:
	$(CARGO) build

# The gateway on the built-in demo backend: real answers, no outside service.
run:
	$(CARGO) run --release -- --demo

# Unit and end-to-end tests.
test:
	$(CARGO) test

# Gateway vs. the same mock backend hit directly (installs wrk if missing).
bench:
	$(CARGO) build --release
	$(CARGO) bench --bench gateway

# Smart-router classifier accuracy on the labelled prompts (tuning and held-out parts).
eval-router:
	$(CARGO) test --release --test router_eval -- --nocapture

release:
	$(CARGO) build --release
	@ls -l target/release/llm-gateway

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

clean:
	$(CARGO) clean
