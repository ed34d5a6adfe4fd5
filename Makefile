# immutable-guard build.
#
#   make            build bin/immutable-guard (release, -O2)
#   make run        install missing packages, make dev certificates, serve on 127.0.0.1:8443
#   make test       install missing packages, then every test step (see TEST_STEPS)
#
# VARIANT selects the build flavour and its output folder build/$(VARIANT):
#   release  -O2 -g
#   asan     AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan     ThreadSanitizer
# Modules add their own test steps in mk/*.mk by appending to TEST_STEPS.

VARIANT ?= release
CC ?= cc
BUILD := build/$(VARIANT)

PKG_MODULES := libmicrohttpd libcjson libcurl openssl yaml-0.1 gnutls
PKG_CFLAGS = $(shell pkg-config --cflags $(PKG_MODULES) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKG_MODULES) 2>/dev/null)

IG_VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0-dev)
IG_GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 -Wvla
CPPFLAGS_BASE := -Iinclude -D_GNU_SOURCE -DIG_VERSION='"$(IG_VERSION)"' -DIG_GIT_COMMIT='"$(IG_GIT_COMMIT)"'
CFLAGS_BASE := -std=c11 $(WARN) -g -pthread -MMD -MP

ifeq ($(VARIANT),release)
  CFLAGS_VARIANT := -O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2
  LDFLAGS_VARIANT :=
else ifeq ($(VARIANT),asan)
  CFLAGS_VARIANT := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDFLAGS_VARIANT := -fsanitize=address,undefined
else ifeq ($(VARIANT),tsan)
  CFLAGS_VARIANT := -O1 -fno-omit-frame-pointer -fsanitize=thread
  LDFLAGS_VARIANT := -fsanitize=thread
else
  $(error unknown VARIANT '$(VARIANT)': use release, asan or tsan)
endif

ALL_CFLAGS = $(CFLAGS_BASE) $(CFLAGS_VARIANT) $(PKG_CFLAGS) $(CFLAGS)
ALL_CPPFLAGS = $(CPPFLAGS_BASE) $(CPPFLAGS)
ALL_LDFLAGS = -pthread $(LDFLAGS_VARIANT) $(LDFLAGS)
LIBS_ALL = $(PKG_LIBS) -lm $(LIBS)

# Every .c under src/ except main.c goes into the library that tests link.
LIB_SRCS := $(filter-out src/main.c,$(shell find src -name '*.c' | sort))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libig.a
MAIN_OBJ := $(BUILD)/obj/src/main.o
PROGRAM := $(BUILD)/immutable-guard

UNIT_SRCS := $(shell find tests/unit -name '*.c' | sort)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_BIN := $(BUILD)/tests/unit

TEST_STEPS :=

.PHONY: all deps run test test-unit test-e2e clean certs fmt
.DEFAULT_GOAL := all

all: bin/immutable-guard

bin/immutable-guard: $(PROGRAM)
ifeq ($(VARIANT),release)
	@mkdir -p bin
	cp $(PROGRAM) $@
endif

$(PROGRAM): $(MAIN_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(MAIN_OBJ) $(LIB) $(LIBS_ALL)

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# The files that print IG_GIT_COMMIT are rebuilt when the commit changes. The
# stamp is rewritten only then, so that a rebuild at the same commit stays a
# no-op.
COMMIT_STAMP := $(BUILD)/commit.stamp
$(COMMIT_STAMP): FORCE
	@mkdir -p $(dir $@)
	@if [ "$$(cat $@ 2>/dev/null)" != "$(IG_GIT_COMMIT)" ]; then echo "$(IG_GIT_COMMIT)" > $@; fi
$(BUILD)/obj/src/cli/version.o $(BUILD)/obj/src/cli/serve.o $(BUILD)/obj/src/transport/server.o: $(COMMIT_STAMP)
.PHONY: FORCE
FORCE:

$(UNIT_BIN): $(UNIT_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(UNIT_OBJS) $(LIB) $(LIBS_ALL) -lcriterion

deps:
	@sh mk/deps.sh

certs: deps
	@sh certs/make-dev-certs.sh certs/dev

run: deps
	$(MAKE) all
	@sh certs/make-dev-certs.sh certs/dev
	./bin/immutable-guard serve --listen 127.0.0.1:8443 --probe-listen 127.0.0.1:8081 \
	    --tls-cert certs/dev/tls.crt --tls-key certs/dev/tls.key

# One unit test binary per variant; Criterion runs each test in its own process.
test-unit: $(UNIT_BIN)
	sh tests/run-step.sh unit-$(VARIANT) $(UNIT_BIN) --jobs 2

-include mk/*.mk

# Each step records its counts in build/test-results; the summary prints the total.
test: deps
	rm -rf build/test-results
	$(MAKE) all
	$(MAKE) VARIANT=release test-unit
	$(MAKE) VARIANT=asan test-unit
	$(foreach step,$(TEST_STEPS),$(MAKE) $(step) &&) true
	sh tests/summary.sh build/test-results

clean:
	rm -rf build bin

-include $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_OBJS:.o=.d)
