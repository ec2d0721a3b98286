# ctrbox - one multicall binary for node-level containers (README.md, DESIGN.md)
#
#   make            build ./ctrbox
#   make test       install what the tests need (Debian, as root), build, run every test
#   make check      clang-tidy, cppcheck, and the whole suite under ASan/UBSan
#   make demo       the offline tour of what exists
#   make bench      the benchmarks under bench/
#   make install    PREFIX=/usr/local DESTDIR=
#   make format     clang-format the tree

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR  ?=

CC       ?= gcc
BUILD    ?= build
VERSION  := $(shell cat VERSION 2>/dev/null)$(shell git describe --always --dirty 2>/dev/null | sed 's/^/+g/')
PKGS     := json-c yaml-0.1 libcrypto libcurl libarchive libisal libseccomp libcap readline
# Linked at exec. libcurl, libarchive, libcrypto, libyaml, libisal, libseccomp and readline are
# opened on first use instead (common/util/dynlib.h): they cost every ctrbox process about
# 20 ms of loading (curl, archive, crypto) and 1 ms more (the other four).
LINKED   := json-c libcap
soname    = $(shell objdump -p $$($(CC) -print-file-name=$(1)) 2>/dev/null | sed -n 's/^ *SONAME *//p')
DL_DEFS   = $(foreach l,CURL:libcurl.so ARCHIVE:libarchive.so CRYPTO:libcrypto.so YAML:libyaml.so \
              ISAL:libisal.so SECCOMP:libseccomp.so READLINE:libreadline.so,\
              $(if $(call soname,$(word 2,$(subst :, ,$(l)))),\
                -D$(word 1,$(subst :, ,$(l)))_SONAME='"$(call soname,$(word 2,$(subst :, ,$(l))))"'))

# Hardened by default (issue 2): fortify, stack protector, PIE, full RELRO. -Werror in CI.
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
            -Wno-unused-parameter -Wvla
ifeq ($(CI),true)
WARN     += -Werror
endif
ifeq ($(WERROR),1)
WARN     += -Werror
endif
OPT      ?= -O2 -g
CFLAGS_ALL = -std=gnu11 $(OPT) $(WARN) -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE \
             -fno-strict-aliasing -D_GNU_SOURCE -I. $(VERSION_DEF) \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(SAN) $(CFLAGS)
$(BUILD)/common/%_dl.o: CFLAGS += $(DL_DEFS)
LDFLAGS_ALL = -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(SAN) $(LDFLAGS)
LIBS     = $(shell pkg-config --libs $(LINKED) 2>/dev/null) -ldl -lpthread
# Tests build archives and hashes of their own with the libraries' full APIs.
TEST_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ldl -lpthread

ifeq ($(SANITIZE),1)
BUILD    := build-asan
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT      := -O1 -g
endif

COMMON_SRC := $(sort $(shell find common -name '*.c'))
# The forwarders (common/**/*_dl.c, with dynlib.c) define the libraries' own function names, so
# they live in an archive of their own that only ctrbox, the unit tests and the benchmarks link.
# In libctrbox.a the static ctrbox-shim would take them in place of its real static libyaml and
# libseccomp, and a static program cannot dlopen.
DL_SRC     := $(filter %_dl.c %/dynlib.c,$(COMMON_SRC))
CMD_SRC    := $(sort $(wildcard cmd/*.c))
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
BENCH_SRC  := $(sort $(wildcard bench/*.c))

COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
DL_OBJ     := $(DL_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ    := $(CMD_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_BIN  := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
LIB        := $(BUILD)/libctrbox.a
DL_LIB     := $(BUILD)/libctrbox-dl.a
LIB_ALL    := -Wl,--start-group $(LIB) $(DL_LIB) -Wl,--end-group
BIN        := $(if $(filter 1,$(SANITIZE)),$(BUILD)/ctrbox,ctrbox)
# The per-container shim as a small static program beside ctrbox (issue 5: its memory per
# container is a headline figure). Not under ASan, which needs dynamic linking: run then
# falls back to `ctrbox __shim`.
SHIM_BIN   := $(if $(filter 1,$(SANITIZE)),,ctrbox-shim)
SHIM_LIBS  := -Wl,--start-group -ljson-c -lyaml -lseccomp -lpthread -Wl,--end-group

.PHONY: all test check demo bench install format deps deps-check unit-tests tidy cppcheck \
        test-run clean man-lint
.DELETE_ON_ERROR:

all: $(BIN) $(SHIM_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(LIB): $(filter-out $(DL_OBJ),$(COMMON_OBJ))
	@rm -f $@
	ar rcs $@ $^

$(DL_LIB): $(DL_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CMD_OBJ) $(LIB) $(DL_LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $(CMD_OBJ) $(LIB_ALL) $(LIBS)

# The version is baked in at build time; rebuild main.o when it changes.
$(BUILD)/cmd/main.o: $(BUILD)/version.stamp
$(BUILD)/cmd/main.o: VERSION_DEF = -DCTRBOX_VERSION='"$(VERSION)"'
$(BUILD)/version.stamp: FORCE
	@mkdir -p $(BUILD)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@
FORCE:

# static_libs.o: the shim's *_dl_require, its libraries being linked in (not libctrbox-dl.a).
SHIM_OBJ   := $(BUILD)/cmd/shim/main.o $(BUILD)/cmd/shim/static_libs.o
ctrbox-shim: $(SHIM_OBJ) $(LIB)
	$(CC) -static -no-pie -Wl,--gc-sections $(LDFLAGS) -o $@ $(SHIM_OBJ) $(LIB) $(SHIM_LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(LIB) $(DL_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB_ALL) $(LDFLAGS_ALL) $(TEST_LIBS) -lcmocka

$(BUILD)/bench/%: bench/%.c bench/bench.h $(LIB) $(DL_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB_ALL) $(LDFLAGS_ALL) $(LIBS)

unit-tests: $(UNIT_BIN)

# make test: the README's test command. Dependencies first (a fresh machine has no compiler),
# then a build in a second make so pkg-config runs after the packages exist.
test: deps
	$(MAKE) --no-print-directory all unit-tests
	tests/run.sh $(BUILD) $(abspath $(BIN))

test-run: all unit-tests
	tests/run.sh $(BUILD) $(abspath $(BIN))

deps:
	scripts/deps.sh test

deps-check:
	scripts/deps.sh check

check: deps-check
	$(MAKE) --no-print-directory tidy cppcheck
	$(MAKE) --no-print-directory SANITIZE=1 all unit-tests
	@# The static shim is not built under ASan; build.bats checks the real one all the same.
	$(MAKE) --no-print-directory ctrbox-shim
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		tests/run.sh build-asan $(abspath build-asan/ctrbox)

tidy:
	clang-tidy --quiet $(COMMON_SRC) $(CMD_SRC) -- -std=gnu11 -D_GNU_SOURCE -I. \
		$(shell pkg-config --cflags $(PKGS)) -DCTRBOX_VERSION='"tidy"'

cppcheck:
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
		--inline-suppr --suppress=missingIncludeSystem -I. $(COMMON_SRC) $(CMD_SRC)

man-lint:
	mandoc -Tlint -Wwarning man/*.1 man/*.5

demo: deps
	$(MAKE) --no-print-directory all
	scripts/demo.sh $(abspath $(BIN))

bench: deps
	$(MAKE) --no-print-directory $(BENCH_BIN) all
	@for b in $(BENCH_BIN); do echo "== $$b"; $$b || exit 1; done
	@for b in bench/*.sh; do [ -x "$$b" ] || continue; echo "== $$b"; $$b $(abspath $(BIN)) || exit 1; done

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/ctrbox
	$(if $(SHIM_BIN),install -m 0755 $(SHIM_BIN) $(DESTDIR)$(BINDIR)/ctrbox-shim)
	$(DESTDIR)$(BINDIR)/ctrbox --install $(DESTDIR)$(BINDIR)
	install -m 0644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 completions/ctrbox.bash $(DESTDIR)$(BASHCOMPDIR)/ctrbox
	@for l in $$(cd $(DESTDIR)$(BINDIR) && find . -maxdepth 1 -lname ctrbox -printf '%f\n'); do \
		ln -sf ctrbox $(DESTDIR)$(BASHCOMPDIR)/$$l; done

format:
	clang-format -i $(COMMON_SRC) $(CMD_SRC) $(UNIT_SRC) $(BENCH_SRC) \
		$(shell find common cmd tests/unit bench -name '*.h')

clean:
	rm -rf build build-asan ctrbox ctrbox-shim

-include $(COMMON_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(SHIM_OBJ:.o=.d)
