# consentgate — build, test, run and benchmark.
#
#   make            release build (build/consentgate), warnings are errors
#   make run        install what is missing, build, start the demo site + gateway
#   make test       install what is missing, build with ASan/UBSan, run unit + integration tests
#   make asan       sanitizer build (build/asan/consentgate) used by the tests
#   make bench      side-by-side benchmarks (tests/bench)
#   make fuzz       short libFuzzer runs of every driver in tests/fuzz
#   make cov        line/branch coverage of gateway/ and filters/ by the unit + integration tests (tests/coverage.sh)
#   make format / make lint
#   make deps       install the missing Debian packages (idempotent)

SHELL       := /bin/bash
CC          ?= gcc
CLANG       ?= clang
BUILD       := build
PKGS        := libh2o-evloop jansson libmaxminddb openssl sqlite3 libpsl zlib
VERSION     := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

PKG_CFLAGS  = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CPPFLAGS    += -DH2O_USE_LIBUV=0 -D_GNU_SOURCE -DCG_VERSION='"$(VERSION)"' -Igateway -Igateway/compat -Ifilters
WARN        := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wshadow -Wpointer-arith
CFLAGS_REL  := -std=gnu11 -O2 -g $(WARN) -MMD -MP
CFLAGS_ASAN := -std=gnu11 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all $(WARN) -MMD -MP
CFLAGS_COV  := -std=gnu11 -O0 -g --coverage $(WARN) -MMD -MP
CFLAGS_TSAN := -std=gnu11 -O1 -g -fno-omit-frame-pointer -fsanitize=thread $(WARN) -MMD -MP
LIBS         = $(PKG_LIBS) -lssl -lcrypto -lpthread -lm

SRCS        := $(wildcard gateway/*.c filters/*.c)
LIB_SRCS    := $(filter-out gateway/main.c,$(SRCS))
REL_OBJS    := $(SRCS:%.c=$(BUILD)/rel/%.o)
ASAN_OBJS   := $(SRCS:%.c=$(BUILD)/asan/%.o)
TSAN_OBJS   := $(SRCS:%.c=$(BUILD)/tsan/%.o)
COV_OBJS    := $(SRCS:%.c=$(BUILD)/cov/%.o)
COV_LIB     := $(BUILD)/cov/libcg.a
COV_UNITS   := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/cov/tests/%)
ASAN_LIB    := $(BUILD)/asan/libcg.a
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/asan/tests/%)
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS   := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
MICRO_SRCS  := $(wildcard tests/bench/micro_*.c)
MICRO_BINS  := $(MICRO_SRCS:tests/bench/%.c=$(BUILD)/rel/bench/%)

.PHONY: all asan run test unit integration browser bench bench-records bench-reload fuzz fuzz-cov format lint deps deps-run clean check-deps tsan soak install cov

all: check-deps $(BUILD)/consentgate

# --- dependencies -----------------------------------------------------------
# Everything the build, the tests and the benchmarks need, from Debian's archive (systemd: the tests check the installed
# unit with systemd-analyze and systemd-sysusers; a container without it as PID 1 is fine).
DEB_PKGS := build-essential pkg-config clang libclang-rt-14-dev \
            libh2o-evloop-dev libh2o-dev-common libjansson-dev libmaxminddb-dev libssl-dev \
            libsqlite3-dev libpsl-dev publicsuffix zlib1g-dev libcmocka-dev \
            python3 curl nghttp2-client openssl procps psmisc systemd python3-prometheus-client
# (python3-prometheus-client: tests/integration/test_metrics.py reads /admin/metrics with its text parser, a small pure
# Python package; promtool would need Debian's whole prometheus server package, which also starts a service)
BENCH_PKGS := wrk nginx-light h2o privoxy valgrind sqlite3 linux-perf strace time
# make lint (part of make test) and make format
DEV_PKGS := cppcheck clang-format
NORECOMMENDS_PKGS := webext-ublock-origin-chromium
# headless Chromium for tests/browser (Playwright drives Debian's chromium; npm ci runs in tests/browser/run.sh)
BROWSER_PKGS := chromium fonts-noto-cjk nodejs

# what `make run` needs: the build and the demo (the tracker lists come with the uBlock package), not the test and
# benchmark tools (Chromium, nginx, h2o, privoxy, …: minutes of downloads a newcomer does not need yet)
RUN_PKGS := build-essential pkg-config libh2o-evloop-dev libh2o-dev-common libjansson-dev libmaxminddb-dev libssl-dev \
            libsqlite3-dev libpsl-dev publicsuffix zlib1g-dev python3 curl openssl procps

deps:
	@tests/install-deps.sh $(DEB_PKGS) $(DEV_PKGS) $(BENCH_PKGS) $(BROWSER_PKGS) -- $(NORECOMMENDS_PKGS)
	@command -v npm >/dev/null || tests/install-deps.sh npm

deps-run:
	@tests/install-deps.sh $(RUN_PKGS) -- $(NORECOMMENDS_PKGS)

check-deps:
	@pkg-config --exists $(PKGS) || { echo "missing libraries: run 'make deps' (as root)"; exit 1; }

# --- builds -----------------------------------------------------------------
$(BUILD)/rel/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS_REL) -c $< -o $@

$(BUILD)/asan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS_ASAN) -c $< -o $@

$(BUILD)/tsan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS_TSAN) -c $< -o $@

$(BUILD)/cov/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS_COV) -c $< -o $@

# The version the binaries print (CG_VERSION, from git describe): the objects that use it depend on a stamp file
# rewritten only when the version changes, so a new commit rebuilds them and nothing else.
VERSION_STAMP := $(BUILD)/version
$(shell mkdir -p $(BUILD) && { [ "$$(cat $(VERSION_STAMP) 2>/dev/null)" = '$(VERSION)' ] || echo '$(VERSION)' >$(VERSION_STAMP); })
$(foreach b,rel asan tsan cov,$(BUILD)/$(b)/gateway/main.o $(BUILD)/$(b)/gateway/server.o): $(VERSION_STAMP)

$(BUILD)/consentgate: $(REL_OBJS)
	$(CC) $(CFLAGS_REL) -o $@ $^ $(LIBS)

asan: check-deps $(BUILD)/asan/consentgate

$(BUILD)/asan/consentgate: $(ASAN_OBJS)
	$(CC) $(CFLAGS_ASAN) -o $@ $^ $(LIBS)

# the whole gateway under ThreadSanitizer (make tsan); Debian's libh2o, OpenSSL and SQLite are not instrumented:
# tests/tsan.supp says which of their reports are safe and why
$(BUILD)/tsan/consentgate: $(TSAN_OBJS)
	$(CC) $(CFLAGS_TSAN) -o $@ $^ $(LIBS)

$(ASAN_LIB): $(filter-out $(BUILD)/asan/gateway/main.o,$(ASAN_OBJS))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/asan/tests/%: tests/unit/%.c $(ASAN_LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(PKG_CFLAGS) $(CFLAGS_ASAN) -o $@ $< $(ASAN_LIB) -lcmocka $(LIBS)

# --- tests ------------------------------------------------------------------
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

test: deps
	@$(MAKE) -j$(JOBS) --no-print-directory all asan units
	@$(MAKE) --no-print-directory lint
	@tests/run.sh

units: $(UNIT_BINS)

unit: asan units
	@tests/run.sh unit

integration: all asan
	@tests/run.sh integration

browser: all asan
	@tests/run.sh browser

# ThreadSanitizer: the snapshot swap under concurrent readers (risk lists + qsbr); the rate limiter's shared table; the
# revocations' table probed while its writer adds and overwrites entries; the
# whole gateway under production's concurrent load, reloads and shutdown (tests/integration/test_concurrency.py, ~1 min)
tsan: check-deps $(BUILD)/tsan/consentgate
	@mkdir -p $(BUILD)/tsan
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) -std=gnu11 -O1 -g -fsanitize=thread $(WARN) -o $(BUILD)/tsan/test_risk_swap \
	  tests/unit/test_risk_swap.c filters/risk.c filters/url.c gateway/qsbr.c -lcmocka $(LIBS)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) -std=gnu11 -O1 -g -fsanitize=thread $(WARN) -o $(BUILD)/tsan/test_ratelimit \
	  tests/unit/test_ratelimit.c gateway/ratelimit.c -lcmocka $(LIBS)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) -std=gnu11 -O1 -g -fsanitize=thread $(WARN) -o $(BUILD)/tsan/test_revoke \
	  tests/unit/test_revoke.c gateway/revoke.c filters/token.c -lcmocka $(LIBS)
	TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tsan/test_risk_swap
	TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tsan/test_ratelimit
	TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tsan/test_revoke
	CG_BIN=$(BUILD)/tsan/consentgate python3 tests/integration/run.py test_concurrency

# Coverage (gcc --coverage -O0, no sanitizers, in build/cov): the unit programs and the integration suite run against
# build/cov/consentgate, then gcov's per-file line and branch summary (tests/coverage.sh; not part of make test)
$(BUILD)/cov/consentgate: $(COV_OBJS)
	$(CC) $(CFLAGS_COV) -o $@ $^ $(LIBS)

$(COV_LIB): $(filter-out $(BUILD)/cov/gateway/main.o,$(COV_OBJS))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/cov/tests/%: tests/unit/%.c $(COV_LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(PKG_CFLAGS) $(CFLAGS_COV) -o $@ $< $(COV_LIB) -lcmocka $(LIBS)

cov: check-deps
	@$(MAKE) -j$(JOBS) --no-print-directory $(BUILD)/cov/consentgate $(COV_UNITS)
	@tests/coverage.sh

# the long crash test of the consent store: 50 SIGKILLs while consents are posted
soak: all
	python3 tests/integration/crashtest.py --kills 50 --binary $(BUILD)/consentgate

# --- install ----------------------------------------------------------------
# PREFIX/bin/consentgate and consentgate-ctl, PREFIX/share/consentgate/{static,conf/cookies.json,conf/ad-trackers.txt,conf/analytics-tags.txt,conf/embeds.txt}
# (the binary finds them there), an example config in PREFIX/share/consentgate/conf/consentgate.json with its
# example risk lists (conf/risk/). The example keeps its state (keys, records, audit log) in STATEDIR and its access
# log in LOGDIR, not in the demo's build/demo/ (relative to the config: beside the installed files, or in /etc/build/
# for a copy in /etc/consentgate/); no admin tokens file is installed (a shipped token would be everyone's).
# Also a systemd unit reading SYSCONFDIR/consentgate/consentgate.json (conf/consentgate.service), the sysusers.d line
# of the user it runs as, and README.md in PREFIX/share/doc/consentgate.
PREFIX ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
STATEDIR ?= /var/lib/consentgate
LOGDIR ?= /var/log/consentgate
# systemd makes (and gives the service's user) a folder under /var/lib or /var/log it is told of; one elsewhere is the
# operator's to make, and the unit only lets the service write there
unit_dir = $(if $(filter $(2)/%,$(1)),$(3)=$(patsubst $(2)/%,%,$(1)),ReadWritePaths=$(1))
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/consentgate/conf
	install -m 0755 $(BUILD)/consentgate gateway/consentgate-ctl $(DESTDIR)$(PREFIX)/bin/
	cp -R static $(DESTDIR)$(PREFIX)/share/consentgate/
	install -m 0644 conf/cookies.json conf/ad-trackers.txt conf/analytics-tags.txt conf/embeds.txt $(DESTDIR)$(PREFIX)/share/consentgate/conf/
	sed -e 's|"\.\./build/demo/access\.log"|"$(LOGDIR)/access.log"|' -e 's|"\.\./build/demo/|"$(STATEDIR)/|' conf/consentgate.json \
	  > $(DESTDIR)$(PREFIX)/share/consentgate/conf/consentgate.json
	chmod 0644 $(DESTDIR)$(PREFIX)/share/consentgate/conf/consentgate.json
	install -d $(DESTDIR)$(PREFIX)/share/consentgate/conf/risk
	install -m 0644 conf/risk/*.txt $(DESTDIR)$(PREFIX)/share/consentgate/conf/risk/
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/lib/sysusers.d $(DESTDIR)$(PREFIX)/share/doc/consentgate
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    -e 's|@STATE_DIRECTIVE@|$(call unit_dir,$(STATEDIR),/var/lib,StateDirectory)|' \
	    -e 's|@LOGS_DIRECTIVE@|$(call unit_dir,$(LOGDIR),/var/log,LogsDirectory)|' conf/consentgate.service \
	  > $(DESTDIR)$(PREFIX)/lib/systemd/system/consentgate.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/consentgate.service
	install -m 0644 conf/consentgate.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/consentgate.conf
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/consentgate/

# --- run --------------------------------------------------------------------
run: deps-run
	@$(MAKE) -j$(JOBS) --no-print-directory all
	@conf/demo/run.sh

# --- fuzzing ----------------------------------------------------------------
# The library is compiled once per variant (ASan/UBSan with libFuzzer's coverage hooks; clang's source coverage for
# tests/fuzz/campaign.sh cov) and each driver links against it.
FUZZ_SECONDS ?= 15
FUZZ_CFLAGS  := -std=gnu11 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FCOV_CFLAGS  := -std=gnu11 -O0 -g -fprofile-instr-generate -fcoverage-mapping
FUZZ_LIB     := $(BUILD)/fuzz/libcg.a
FCOV_LIB     := $(BUILD)/fuzzcov/libcg.a
FCOV_BINS    := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzzcov/%)

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) $(PKG_CFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/fuzzcov/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) $(PKG_CFLAGS) $(FCOV_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(LIB_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)
	@rm -f $@
	ar rcs $@ $^

$(FCOV_LIB): $(LIB_SRCS:%.c=$(BUILD)/fuzzcov/obj/%.o)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB)
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) $(PKG_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(LIBS)

# the same driver with source coverage: replays a corpus (-runs=0) into LLVM_PROFILE_FILE
$(BUILD)/fuzzcov/%: tests/fuzz/%.c $(FCOV_LIB)
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) $(PKG_CFLAGS) $(FCOV_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FCOV_LIB) $(LIBS)

fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do n=$${f##*/}; mkdir -p tests/fuzz/corpus/$$n; \
	  echo "== $$n ($(FUZZ_SECONDS)s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=8192 $$( [ -f tests/fuzz/$$n.dict ] && echo -dict=tests/fuzz/$$n.dict ) \
	    $(BUILD)/fuzz/corpus-$$n tests/fuzz/corpus/$$n 2>&1 | tail -n 3; \
	done

fuzz-cov: $(FCOV_BINS)

$(FUZZ_BINS): | fuzz-corpus-dirs
fuzz-corpus-dirs:
	@mkdir -p $(foreach f,$(FUZZ_BINS),$(BUILD)/fuzz/corpus-$(notdir $(f)))

# --- benchmarks -------------------------------------------------------------
$(BUILD)/rel/bench/%: tests/bench/%.c $(filter-out $(BUILD)/rel/gateway/main.o,$(REL_OBJS))
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS_REL) -o $@ $^ $(LIBS)

bench: deps
	@$(MAKE) -j$(JOBS) --no-print-directory all $(MICRO_BINS)
	@tests/bench/run.sh
	@tests/bench/records_bench.sh
	@python3 tests/bench/reload_bench.py

# the consent store alone: durable consents/s vs raw fdatasync and SQLite, latency at 1,000/s, proxy under recording
bench-records: all
	@tests/bench/records_bench.sh

# a 1M-entry risk list replaced while wrk drives the gateway: swap time, failed and slowed requests
bench-reload: all
	@python3 tests/bench/reload_bench.py

# --- hygiene ----------------------------------------------------------------
format:
	clang-format -i gateway/*.[ch] filters/*.[ch] tests/unit/*.[ch] tests/fuzz/*.c tests/bench/*.c

lint:
	@cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr \
	  --suppress=missingIncludeSystem $(CPPFLAGS) gateway filters && echo "lint: cppcheck found nothing"
	@# the fuzz drivers are built by make fuzz only (minutes of linking): checked here that they still compile
	@for f in $(FUZZ_SRCS) $(MICRO_SRCS); do $(CLANG) $(CPPFLAGS) $(PKG_CFLAGS) -std=gnu11 -Wall -Werror -Wno-unused-parameter \
	  -fsyntax-only $$f || exit 1; done && echo "lint: fuzz drivers and micro benchmarks compile"

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
