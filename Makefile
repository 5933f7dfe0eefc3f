# lightchat - build, run and test.
#   make          build everything (warnings are errors)
#   make deps     install the Debian (and npm) packages the project needs
#   make run      deps + build + start the whole stack in the foreground
#   make test     deps + build + the whole test suite
#   make asan     build with AddressSanitizer + UBSan into build-asan/
#   make clean    remove everything the build made

CC      ?= cc
BUILD   ?= build
PKGS    := libcjson libjwt libzmq libcurl libxcrypt sqlite3
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wvla
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(WARN) -Ilib
LDFLAGS ?=

ifeq ($(SANITIZE),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

pkg_cflags = $(shell pkg-config --cflags $(1) 2>/dev/null)
pkg_libs   = $(shell pkg-config --libs $(1) 2>/dev/null)

LIB_BASE  := lib/log.c lib/buf.c lib/config.c lib/utf8.c lib/monotime.c
LIB_AUTH  := lib/token.c lib/creds.c lib/users.c
LIB_STORE := lib/store.c lib/json.c
LIB_ZMTP  := lib/zmtp.c
FCGI_SRC  := $(wildcard cgi-bin/*.c)
WS_SRC    := $(wildcard ws/*.c)
WORKER_SRC:= $(wildcard worker/*.c)
ADMIN_SRC := $(wildcard admin/*.c)

FCGI_BIN   := $(BUILD)/lightchat.fcgi
WS_BIN     := $(BUILD)/lightchat-ws
WORKER_BIN := $(BUILD)/lightchat-worker
ADMIN_BIN  := $(BUILD)/lightchat-admin
UNIT_SRC   := $(wildcard tests/unit/test-*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
WORKER_LIB_OBJ := $(call obj,$(filter-out worker/main.c,$(WORKER_SRC)))

.PHONY: all deps run test unit asan clean fuzz
all: $(FCGI_BIN) $(WS_BIN) $(WORKER_BIN) $(ADMIN_BIN) $(UNIT_BINS)

$(BUILD)/obj/%.o: %.c $(wildcard lib/*.h cgi-bin/*.h worker/*.h ws/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call pkg_cflags,$(PKGS)) -Iworker -Icgi-bin -c $< -o $@

# The FastCGI program: login, REST API, /ws authorizer.
$(FCGI_BIN): $(call obj,$(FCGI_SRC) $(LIB_BASE) $(LIB_AUTH) $(LIB_STORE))
	$(CC) $(LDFLAGS) -o $@ $^ -lfcgi $(call pkg_libs,libcjson libjwt libxcrypt sqlite3)

# The per-connection session: libc only. It speaks ZMTP itself (lib/zmtp.c):
# libzmq's threads and dependency chain cost ~0.4 MB per connection.
$(WS_BIN): $(call obj,$(WS_SRC) $(LIB_BASE) $(LIB_ZMTP))
	$(CC) $(LDFLAGS) -o $@ $^

$(WORKER_BIN): $(call obj,$(WORKER_SRC) $(LIB_BASE) $(LIB_AUTH) $(LIB_STORE))
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,libzmq libcurl libcjson libjwt libxcrypt sqlite3)

$(ADMIN_BIN): $(call obj,$(ADMIN_SRC) $(LIB_BASE) $(LIB_AUTH))
	$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,libjwt libxcrypt)

# Unit tests link the library code and the worker's modules (not its main).
$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(call obj,$(LIB_BASE) $(LIB_AUTH) $(LIB_STORE) $(LIB_ZMTP)) $(WORKER_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call pkg_cflags,$(PKGS)) -Iworker -Itests/unit -o $@ $(filter %.c %.o,$^) \
	    $(LDFLAGS) $(call pkg_libs,libzmq libcurl libcjson libjwt libxcrypt sqlite3)

# The route table's test links the FastCGI program's pages (not its main).
$(BUILD)/tests/test-route: tests/unit/test-route.c tests/unit/unit.h $(call obj,$(filter-out cgi-bin/main.c,$(FCGI_SRC)) $(LIB_BASE) $(LIB_AUTH) $(LIB_STORE))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(call pkg_cflags,$(PKGS)) -Icgi-bin -Itests/unit -o $@ $(filter %.c %.o,$^) \
	    $(LDFLAGS) -lfcgi $(call pkg_libs,libcjson libjwt libxcrypt sqlite3)

deps:
	@scripts/deps.sh

run: deps all
	@scripts/run.sh

test: deps all asan
	@tests/run.sh

unit: all
	@tests/run.sh unit

asan:
	$(MAKE) BUILD=build-asan SANITIZE=1 all

clean:
	rm -rf build build-asan tests/artifacts

# libFuzzer harnesses (clang): fuzz/*.c, each run for a bounded time.
-include fuzz/fuzz.mk

# Benchmarks: make bench (full, writes bench/RESULTS.md), make bench-smoke.
-include bench/bench.mk
