# SwiftMTA — the two commands: `make run` and `make test`.
#
# Both set the machine up first (scripts/bootstrap installs the system packages and tools the build
# and the tests need, and skips what is already there).

SHELL      := /bin/bash
.SHELLFLAGS := -o pipefail -ec
SWIFT      ?= swift
BUILD_LOG  := .build/last-build.log

.PHONY: run test build bootstrap clean bench-maps

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@mkdir -p .build
	$(SWIFT) build 2>&1 | tee $(BUILD_LOG)
	@scripts/check-warnings $(BUILD_LOG)

## make run: build and start the server on its embedded default (loopback, ports 2525 and 2587).
run: build
	$(SWIFT) run --skip-build swiftmta serve

## make test: build everything, fail on any warning in our code, and run every test.
test: bootstrap
	@mkdir -p .build
	$(SWIFT) build --build-tests 2>&1 | tee $(BUILD_LOG)
	@scripts/check-warnings $(BUILD_LOG)
	$(SWIFT) test --skip-build

## make bench-maps: Berkeley DB and LDAP lookups per second through MailMaps, beside the C library.
bench-maps: bootstrap
	$(SWIFT) build -c release --product MailMapsBench
	$(SWIFT) run -c release --skip-build MailMapsBench

clean:
	rm -rf .build
