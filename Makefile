# Makefile — builds bin/abstat and bin/abstatd, runs the tests and benchmarks.
#
#   make              build (installs missing Debian -dev packages first)
#   make test         build and run every test
#   make test SANITIZE=1   the same under AddressSanitizer + UBSan (in build/san)
#   make run          start the daemon on 127.0.0.1:8080 with data in ./data
#                     (the dashboard: http://127.0.0.1:8080/)
#   make install      PREFIX=/usr/local DESTDIR= (make uninstall removes it again)
#   make bench        benchmarks (bench/)
#   make reference    regenerate tests/reference/*.tsv with R

CC ?= cc
.DEFAULT_GOAL := all
# Warnings are not optional: `override` adds them to whatever CFLAGS the
# caller gives, even on the command line (make CFLAGS=-fsanitize=thread).
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wformat=2 -Wundef
OPT ?= -O2 -g
# Project headers are included by layer: "core/state.h", "http/guard.h".
override CFLAGS += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -Iinclude -Iservice -pthread

ifeq ($(SANITIZE),1)
BUILD ?= build/san
override CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
override LDFLAGS += -fsanitize=address,undefined
BIN := $(BUILD)/bin
else
BUILD ?= build
# A second build tree (make BUILD=build/x) gets its own programs too.
BIN := $(if $(filter build,$(BUILD)),bin,$(BUILD)/bin)
endif

# build/config.mk holds the pkg-config flags; making it installs what is missing.
ifeq ($(filter clean,$(MAKECMDGOALS)),)
build/config.mk: scripts/configure.sh
	@mkdir -p build
	@sh scripts/configure.sh > $@.tmp && mv $@.tmp $@
-include build/config.mk
endif

override CFLAGS += $(PKG_CFLAGS)
override LDLIBS += $(PKG_LIBS)

STATS_SRC := $(wildcard stats/*.c)
# service/LAYER/*.c (README, Architecture); the two mains are the programs.
MAINS := service/cli/main_abstat.c service/daemon/main_abstatd.c
SERVICE_SRC := $(filter-out $(MAINS),$(wildcard service/*/*.c))
# tests/unit/LAYER/ and tests/integration/ hold the tests, tests/lib/ what they share.
TEST_SRC := $(wildcard tests/unit/*/test_*.c tests/integration/test_*.c)
TESTLIB_SRC := $(wildcard tests/lib/*.c)
BENCH_SRC := $(wildcard bench/bench_*.c)

STATS_OBJ := $(STATS_SRC:%.c=$(BUILD)/%.o)
SERVICE_OBJ := $(SERVICE_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/assets.o
# Files served from the binary (service/base/assets.h): embedded at build time,
# with Debian's Chart.js for the dashboard (CHARTJS, from scripts/configure.sh).
CHARTJS ?= /usr/share/javascript/chart.js/chart.min.js
ASSETS := $(sort $(wildcard service/assets/*)) $(CHARTJS)
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(BUILD)/%.o)
TESTS := $(TEST_SRC:%.c=$(BUILD)/%)
BENCHES := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

LIBSTATS := $(BUILD)/libabstat_stats.a
LIBSERVICE := $(BUILD)/libabstat_service.a
PROGRAMS := $(BIN)/abstat $(BIN)/abstatd

.PHONY: all test run bench reference clean fuzz valgrind soak
# Keep objects of tests and benches: they are intermediate in the pattern chain.
.SECONDARY:
all: $(PROGRAMS)

$(BUILD)/%.o: %.c build/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/gen/assets.c: $(ASSETS) scripts/embed.sh
	@mkdir -p $(dir $@)
	sh scripts/embed.sh $(ASSETS) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/assets.o: $(BUILD)/gen/assets.c build/config.mk
	$(CC) $(CFLAGS) -c $< -o $@

$(LIBSTATS): $(STATS_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(LIBSERVICE): $(SERVICE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN)/abstat: $(BUILD)/service/cli/main_abstat.o $(LIBSERVICE) $(LIBSTATS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/abstatd: $(BUILD)/service/daemon/main_abstatd.o $(LIBSERVICE) $(LIBSTATS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TESTLIB_OBJ) $(LIBSERVICE) $(LIBSTATS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Tests include what they share as "test.h", "daemon.h".
$(BUILD)/tests/%.o: tests/%.c build/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/lib -MMD -MP -c $< -o $@

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIBSERVICE) $(LIBSTATS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Every test binary runs from the top of the tree; tests/run.sh counts them.
# tests/arch/ checks the layers' includes and the call graph first.
ARCH_CHECKS := tests/arch/layers.sh tests/arch/cycles.sh
test: $(PROGRAMS) $(TESTS)
	@sh scripts/test-deps.sh
	@ABSTAT_BIN=$(abspath $(BIN)) ABSTAT_OBJ=$(BUILD) sh tests/run.sh $(ARCH_CHECKS) $(TESTS)

# The long attacks of tests/integration/test_attack.c: 16 pipelining connections for
# SOAK_SECONDS (30), 1,000 slow clients, 50 parked uploads; prints peak RSS
# and the well-behaved client's p99. CI: make soak SOAK_SECONDS=5.
SOAK_SECONDS ?= 30
soak: $(PROGRAMS) $(BUILD)/tests/integration/test_attack
	@ABSTAT_BIN=$(abspath $(BIN)) ABSTAT_SOAK=1 ABSTAT_SOAK_SECONDS=$(SOAK_SECONDS) $(BUILD)/tests/integration/test_attack

# The dashboard's screenshots that README shows (docs/screenshots/), taken by
# its browser test (tests/integration/test_dashboard.c) at phone and desktop sizes.
.PHONY: screenshots
screenshots: $(PROGRAMS) $(BUILD)/tests/integration/test_dashboard
	@mkdir -p docs/screenshots
	@ABSTAT_BIN=$(abspath $(BIN)) ABSTAT_SCREENSHOTS=$(abspath docs/screenshots) \
	  $(BUILD)/tests/integration/test_dashboard

run: $(PROGRAMS)
	@mkdir -p data
	$(BIN)/abstatd --listen 127.0.0.1:8080 --data ./data

# make install [PREFIX=/usr/local] [DESTDIR=]: abstat in BINDIR, the daemon
# in SBINDIR (system daemons live in sbin, their page in man8), the man
# pages, the systemd unit and its user (sysusers.d), and the sample tokens
# file, LICENSE and README in DOCDIR. DESTDIR stages a package root. Nothing
# goes to /etc: a real tokens file there is the operator's, never touched.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/abstat
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
INSTALL ?= install
# What install puts in place, for uninstall (and tests/integration/test_install.c).
INSTALLED = $(BINDIR)/abstat $(SBINDIR)/abstatd $(MANDIR)/man1/abstat.1 \
            $(MANDIR)/man8/abstatd.8 $(UNITDIR)/abstatd.service $(SYSUSERSDIR)/abstat.conf \
            $(DOCDIR)/tokens.example $(DOCDIR)/LICENSE $(DOCDIR)/README.md

.PHONY: install uninstall
install: $(PROGRAMS)
	$(INSTALL) -d -m 755 "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(SBINDIR)" \
	  "$(DESTDIR)$(MANDIR)/man1" "$(DESTDIR)$(MANDIR)/man8" "$(DESTDIR)$(UNITDIR)" \
	  "$(DESTDIR)$(SYSUSERSDIR)" "$(DESTDIR)$(DOCDIR)"
	$(INSTALL) -m 755 $(BIN)/abstat "$(DESTDIR)$(BINDIR)/abstat"
	$(INSTALL) -m 755 $(BIN)/abstatd "$(DESTDIR)$(SBINDIR)/abstatd"
	$(INSTALL) -m 644 dist/abstat.1 "$(DESTDIR)$(MANDIR)/man1/abstat.1"
	$(INSTALL) -m 644 dist/abstatd.8 "$(DESTDIR)$(MANDIR)/man8/abstatd.8"
	@mkdir -p $(BUILD)/dist
	sed 's|^ExecStart=/usr/local/sbin/|ExecStart=$(SBINDIR)/|' dist/abstatd.service \
	  > $(BUILD)/dist/abstatd.service
	$(INSTALL) -m 644 $(BUILD)/dist/abstatd.service "$(DESTDIR)$(UNITDIR)/abstatd.service"
	$(INSTALL) -m 644 dist/abstat.sysusers "$(DESTDIR)$(SYSUSERSDIR)/abstat.conf"
	$(INSTALL) -m 644 dist/tokens.example LICENSE README.md "$(DESTDIR)$(DOCDIR)"

# Shared directories (bin, man1, ...) stay; DOCDIR is abstat's own.
uninstall:
	rm -f $(INSTALLED:%="$(DESTDIR)%")
	[ ! -d "$(DESTDIR)$(DOCDIR)" ] || rmdir "$(DESTDIR)$(DOCDIR)"

# bench/run.sh drives it all; see README.md, Performance.
bench: $(PROGRAMS) $(BENCHES) $(BUILD)/bench/bare_evhttp $(BUILD)/bench/fill
	bash bench/run.sh

$(BUILD)/bench/bare_evhttp: bench/bare_evhttp.c build/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

$(BUILD)/bench/fill: bench/fill.c build/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

# libFuzzer harnesses (clang): FUZZ_SECONDS each, corpus in tests/fuzz/.
FUZZ_SECONDS ?= 60
fuzz:
	sh tests/fuzz/run.sh $(FUZZ_SECONDS)

# The integration tests with every daemon they start under memcheck; a
# memcheck error makes abstatd exit 99, which fails the test's clean stop.
VALGRIND_TESTS := $(filter %/test_daemon %/test_counting %/test_crash %/test_monitor \
                    %/test_security %/test_hostile %/test_event_time %/test_verdict \
                    %/test_config_change %/test_store_integrity %/test_assign %/test_cors \
                    %/test_history %/test_journey,$(TESTS))
valgrind: $(PROGRAMS) $(TESTS)
	@command -v valgrind >/dev/null || { echo "valgrind: installing"; apt-get install -y -qq valgrind; }
	@ABSTAT_BIN=$(abspath $(BIN)) ABSTAT_WRAP="valgrind -q --error-exitcode=99 --leak-check=full \
	  --errors-for-leak-kinds=definite --show-leak-kinds=definite" sh tests/run.sh $(VALGRIND_TESTS)

reference:
	cd tests/reference && for r in *.R; do Rscript "$$r" || exit 1; done

clean:
	rm -rf build bin

-include $(STATS_OBJ:.o=.d) $(SERVICE_OBJ:.o=.d) $(TESTLIB_OBJ:.o=.d) \
         $(TESTS:=.d) $(BENCHES:=.d) $(MAINS:%.c=$(BUILD)/%.d)
