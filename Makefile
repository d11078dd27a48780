# SwiftMTA — the two commands: `make run` and `make test`.
#
# Both set the machine up first (scripts/bootstrap installs the system packages and tools the build
# and the tests need, and skips what is already there).

SHELL      := /bin/bash
.SHELLFLAGS := -o pipefail -ec
SWIFT      ?= swift
BUILD_LOG  := .build/last-build.log

.PHONY: run test build bootstrap clean fuzz fuzz-maps bench-tls bench-maps bench-auth bench-client bench-queue

bootstrap:
	@scripts/bootstrap

build: bootstrap
	@mkdir -p .build
	$(SWIFT) build 2>&1 | tee $(BUILD_LOG)
	@scripts/check-warnings $(BUILD_LOG)

## make run: build and start the server on its embedded default (loopback: smtp 2525, submission 2587, smtps 2465; files in ./var).
run: build
	$(SWIFT) run --skip-build swiftmta serve

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

## make bench-maps: Berkeley DB and LDAP lookups per second through MailMaps, beside the C library.
bench-maps: bootstrap
	$(SWIFT) build -c release --product MailMapsBench
	$(SWIFT) run -c release --skip-build MailMapsBench

## make fuzz-maps: libFuzzer over MailMaps' parsers (text maps, specs, inline lists, keys, DNS
## answers), FUZZ_SECONDS long; crashes are kept in fuzz-artifacts/.
fuzz-maps: bootstrap
	@mkdir -p .build/fuzz/corpus-maps fuzz-artifacts/maps
	swiftc -sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6 \
	  -enable-upcoming-feature InternalImportsByDefault -enable-upcoming-feature ExistentialAny \
	  -module-name MailMaps -package-name swiftmta -I Sources/CResolver \
	  Sources/MailMaps/*.swift Tests/MailMapsFuzz/MailMapsFuzz.swift -lresolv -o .build/fuzz/mailmaps 2>&1 \
	  | grep -v "Cannot export local symbol" || true
	.build/fuzz/mailmaps -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -rss_limit_mb=2048 \
	  -artifact_prefix=fuzz-artifacts/maps/ .build/fuzz/corpus-maps 2>&1 | tail -20

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
