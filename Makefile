# SwiftMTA — the two commands: `make run` and `make test`.
#
# Both set the machine up first (scripts/bootstrap installs the system packages and tools the build
# and the tests need, and skips what is already there).

SHELL      := /bin/bash
.SHELLFLAGS := -o pipefail -ec
SWIFT      ?= swift
BUILD_LOG  := .build/last-build.log

.PHONY: run test build bootstrap clean fuzz bench-tls bench-maps bench-auth bench-client bench-queue bench bench-profile

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
	@scripts/bench/smoke .build/debug/swiftmta

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

## make bench: SwiftMTA (release build) against Postfix and Sendmail as whole MTAs, each relaying
## one domain to smtp-sink through its durable queue (scripts/bench/mtabench.py, as root): accept
## and end-to-end rates, CPU per message, RSS/PSS, the ceiling and the disk's fsync rates; accept
## latency plain and STARTTLS; memory per idle connection. About 15 minutes. Table and ratios in
## .build/bench/latest.md and latest.json. BENCH_REPEATS (3) and BENCH_MESSAGES (5000) for quick
## runs; BENCH_ARGS for the rest (--smoke, --publish into BENCHMARKS.md, --help).
## make bench-profile: SwiftMTA's accept and relay paths under callgrind, hot spots; perf of the release build.
## make test runs the harness's smoke mode (scripts/bench/smoke, ~15 s) on the debug build.
BENCH_REPEATS  ?= 3
BENCH_MESSAGES ?= 5000
bench: bootstrap
	$(SWIFT) build -c release --product swiftmta
	python3 scripts/bench/mtabench.py --repeats $(BENCH_REPEATS) --messages $(BENCH_MESSAGES) $(BENCH_ARGS)

bench-profile: bootstrap
	$(SWIFT) build -c release --product swiftmta
	python3 scripts/bench/mtabench.py --profile $(BENCH_ARGS)

clean:
	rm -rf .build .build-fuzz
