# CarniTrack Edge build. GNU make; one static library (lib/) linked into every
# program under cmd/, every unit test under tests/unit and every fuzz target.
#   make            build/carnitrackd, build/carnitrackctl and the tools
#   make check      install missing build deps, build, run all tests, then
#                   all tests again under ASan+UBSan (build/asan), then
#                   build everything with clang (warnings are errors)
#   make fuzz       libFuzzer targets, FUZZ_TIME seconds each
#   make deb        Debian package into build/
#   make bench      benchmarks (bench/)

CC      ?= cc
BUILD   ?= build
SAN     ?=
VERSION := 0.1.0
PREFIX  ?= /usr
DESTDIR ?=

PKGS    := libevent libevent_openssl openssl jansson lmdb inih
CPPFLAGS += -D_GNU_SOURCE -DCT_VERSION=\"$(VERSION)\" -Ilib -Iproto
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter -fno-strict-aliasing \
           -MMD -MP
# snprintf truncation into bounded buffers is deliberate throughout.
ifeq ($(findstring clang,$(shell $(CC) --version 2>/dev/null | head -n1)),)
CFLAGS  += -Wno-format-truncation
endif
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -levent -levent_openssl -lssl -lcrypto -ljansson -llmdb -linih) -lwslay
LDFLAGS += -Wl,--as-needed

ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC  := $(sort $(wildcard lib/*/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIBA     := $(BUILD)/libcarnitrack.a
CMDS     := $(notdir $(wildcard cmd/*))
BINS     := $(CMDS:%=$(BUILD)/%)
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
TESTS    := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
REPLAYS  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/replay_%)
HELPERS_SRC := $(sort $(wildcard tests/helpers/*.c))
HELPERS  := $(HELPERS_SRC:tests/helpers/%.c=$(BUILD)/tests/%)

.PHONY: all check test test-build unit integration deps clean install fuzz bench bench-quick deb demo
all: $(BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

define cmd_rule
$(BUILD)/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard cmd/$(1)/*.c))) $(LIBA)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach c,$(CMDS),$(eval $(call cmd_rule,$(c))))

$(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -lpthread)

$(BUILD)/tests/replay_%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/replay_main.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/helpers/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Everything tests need, without running anything.
test-build: $(BINS) $(TESTS) $(REPLAYS) $(HELPERS)

# Runs unit tests, corpus replays and integration tests against $(BUILD).
test: test-build
	BUILD=$(BUILD) tests/run.sh

unit: $(TESTS) $(REPLAYS)
	BUILD=$(BUILD) tests/run.sh unit

integration: test-build
	BUILD=$(BUILD) tests/run.sh integration

deps:
	@tests/deps.sh

check: deps
	$(MAKE) test
	$(MAKE) BUILD=build/asan SAN=1 test
	$(MAKE) BUILD=build/clang CC=clang test-build

FUZZ_TIME ?= 60
FUZZ_BUILD := build/fuzz
fuzz: deps
	@mkdir -p $(FUZZ_BUILD)
	@set -e; for f in $(FUZZ_SRC); do \
	  n=$$(basename $$f .c); \
	  clang $(CPPFLAGS) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
	    -o $(FUZZ_BUILD)/$$n $$f $(LIB_SRC) $(LDLIBS); \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$n; \
	  echo "== $$n for $(FUZZ_TIME)s"; \
	  $(FUZZ_BUILD)/$$n -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
	    $(FUZZ_BUILD)/corpus/$$n tests/fuzz/corpus/$${n#fuzz_}; \
	done

demo: deps all
	etc/demo/demo.sh

install: all
	install -D -m 0755 $(BUILD)/carnitrackd $(DESTDIR)$(PREFIX)/sbin/carnitrackd
	install -D -m 0755 $(BUILD)/carnitrackctl $(DESTDIR)$(PREFIX)/bin/carnitrackctl
	install -D -m 0644 cmd/carnitrackd/carnitrackd.8 $(DESTDIR)$(PREFIX)/share/man/man8/carnitrackd.8
	install -D -m 0644 cmd/carnitrackctl/carnitrackctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/carnitrackctl.8
	install -D -m 0644 etc/carnitrack-edge.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/carnitrack-edge.conf.5
	install -D -m 0644 etc/edge.conf $(DESTDIR)/etc/carnitrack/edge.conf

clean:
	rm -rf build debian

-include $(wildcard packaging/*.mk bench/*.mk)
-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
