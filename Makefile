# SwiftMTA — the two commands: `make run` and `make test`.
#
# Both set the machine up first (scripts/bootstrap installs the system packages and tools the build
# and the tests need, and skips what is already there).

SHELL      := /bin/bash
.SHELLFLAGS := -o pipefail -ec
SWIFT      ?= swift
BUILD_LOG  := .build/last-build.log

.PHONY: run test build bootstrap clean fuzz bench-tls bench-maps bench-auth bench-client bench-queue

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@mkdir -p .build
	$(SWIFT) build 2>&1 | tee $(BUILD_LOG)
	@scripts/check-warnings $(BUILD_LOG)

## make run: build and start the server on its embedded default (loopback: smtp 2525, submission 2587, smtps 2465; files in ./var).
## As root (a container), it passes --allow-root: the embedded default names no [daemon] user.
run: build
	$(SWIFT) run --skip-build swiftmta serve $$([ "$$(id -u)" = 0 ] && echo --allow-root)

## make test: build everything, fail on any warning in our code, and run every test.
test: bootstrap
	@mkdir -p .build
	$(SWIFT) build --build-tests 2>&1 | tee $(BUILD_LOG)
	@scripts/check-warnings $(BUILD_LOG)
	$(SWIFT) test --skip-build
	@scripts/fuzz-replay

## make fuzz: libFuzzer over every Fuzz/<Module>Fuzz target, FUZZ_SECONDS each (default 60), from
## and into the committed corpus (Fuzz/Corpus); crash inputs land in Fuzz/Crashes and fail the run.
## `make test` replays both. One module: make fuzz FUZZ_MODULES=SMTPProtocol.
FUZZ_SECONDS ?= 60
FUZZ_MODULES ?=
fuzz: bootstrap
	scripts/fuzz-run $(FUZZ_SECONDS) $(FUZZ_MODULES)

## make bench-tls: MailTLS handshakes/s and bulk MB/s, each beside openssl s_server, s_client or
## s_time in the same run, as a ratio. BENCH_ARGS="SECONDS MIB REPEATS" (default 3 s, 256 MiB, 3).
bench-tls: bootstrap
	$(SWIFT) build -c release --product MailTLSBenchmark
	.build/release/MailTLSBenchmark $(BENCH_ARGS)

## make bench-maps: Berkeley DB and LDAP lookups per second through MailMaps, beside the C library,
## and hash: lookups per second beside a hung LDAP server and a hung nameserver.
bench-maps: bootstrap
	$(SWIFT) build -c release --product MailMapsBenchmark
	$(SWIFT) run -c release --skip-build MailMapsBenchmark

## make bench-auth: MailAuth's mechanisms against Cyrus SASL (libsasl2), exchanges per second and ratio.
bench-auth: bootstrap
	$(SWIFT) run -c release MailAuthBenchmark

## make bench-client: SMTPClient's messages per second into Postfix's smtp-sink, beside Postfix's
## smtp-source doing the same in the same run, as a ratio (with and without PIPELINING).
## BENCH_ARGS="MESSAGES REPEATS SESSIONS" (default 4000 3 1).
bench-client: bootstrap
	$(SWIFT) build -c release --product SMTPClientBenchmark
	.build/release/SMTPClientBenchmark $(BENCH_ARGS)

## make bench-queue: the spool's commits/s and CPU per message with 1, 20 and 50 concurrent writers
## of 4 KiB messages, beside the disk's raw create+fsync and overwrite+fdatasync rates measured in
## the same run, as ratios. BENCH_ARGS="SECONDS [DIRECTORY]" (default 3 s, under .build).
bench-queue: bootstrap
	$(SWIFT) build -c release --product MailQueueBenchmark
	.build/release/MailQueueBenchmark bench $(BENCH_ARGS)

clean:
	rm -rf .build .build-fuzz
