# mcpctl — the two commands a new machine needs are `make demo` and `make test`.
SHELL := /bin/bash
ENGINE ?= docker
CARGO ?= cargo
# Where cargo puts the binary: CARGO_TARGET_DIR and .cargo/config target-dir are honoured.
TARGET_DIR := $(shell $(CARGO) metadata --format-version 1 --no-deps 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null || echo target)
MCPCTL := $(TARGET_DIR)/release/mcpctl
# The fixtures build FROM local images (nothing can be pulled here); scripts/engines-up.sh makes them.
LOCAL_BASE := --build-arg PYTHON_IMAGE=mcpctl-python:bookworm --build-arg UV_IMAGE=mcpctl-uv:local

.PHONY: all build engines demo demo-status demo-stop test unit lint bench clean

all: build

build:
	$(CARGO) build --release

# Idempotent: installs docker.io/podman/runc/debootstrap if missing, starts dockerd, configures
# podman, makes the local base images and the fixtures' uv.lock. Quiet when all is in place.
engines:
	@bash scripts/engines-up.sh

# Engine up, build, start the bundled example server, print the endpoint.
demo: engines build
	$(MCPCTL) --engine $(ENGINE) -C fixtures/echo-server $(LOCAL_BASE) start
	$(MCPCTL) --engine $(ENGINE) -C fixtures/echo-server status

demo-status: build
	$(MCPCTL) --engine $(ENGINE) -C fixtures/echo-server status

demo-stop: build
	$(MCPCTL) --engine $(ENGINE) -C fixtures/echo-server stop

# Everything: unit tests, CLI tests against a fake engine, parsers against recorded engine output,
# and end-to-end runs on real docker AND podman (required: a missing engine fails them).
test: engines
	bash scripts/oauth-idp.sh
	mkdir -p target && rm -f target/e2e-times.txt
	set -o pipefail; MCPCTL_E2E=required $(CARGO) test --lib --test integration -- --test-threads 4 2>&1 | tee target/test.log
	@if [ -f target/e2e-times.txt ]; then echo "end-to-end test times:"; sort target/e2e-times.txt; fi
	@awk '/^test result:/ {p += $$4; f += $$6} END {printf "%d passed, %d failed\n", p, f}' target/test.log

# Without engines: unit, CLI and parser tests only (end-to-end tests skip with a loud line).
unit:
	$(CARGO) test --lib --test integration -- --skip docker:: --skip podman::

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

bench: engines build
	$(CARGO) build --release --examples
	TARGET_DIR=$(TARGET_DIR) MCPCTL=$(MCPCTL) bash scripts/bench.sh

clean:
	$(CARGO) clean
