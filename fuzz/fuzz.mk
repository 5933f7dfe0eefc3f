# fuzz.mk - libFuzzer harnesses (clang), included by the Makefile.
#   make fuzz          build every harness and fuzz each for FUZZ_SECONDS
#                      (default 20) on a copy of its seed corpus; fails if a
#                      crash, leak, timeout or broken invariant is found
#   make fuzz-smoke    run every harness once over its seed corpus (seconds)
#   make fuzz-build    build only;  make fuzz-clean  remove build-fuzz/
#   FUZZ=sse,token     only these harnesses (names: $(FUZZ_NAMES))
# clang and libFuzzer: Debian's clang and libclang-rt-14-dev packages.
# Harnesses: fuzz/fuzz_NAME.c; seeds: fuzz/corpus/NAME/; optional
# dictionary: fuzz/NAME.dict. Crashes go to build-fuzz/artifacts/NAME/.

FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 20
FUZZ_NAMES   := sse request creds token users config utf8 zmtp discover sniff
FUZZ         ?= $(FUZZ_NAMES)
fuzz_selected = $(subst $(comma), ,$(FUZZ))
comma := ,

FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
# worker/ and ws/ only for "" includes: worker/limits.h is not <limits.h>
# (-Iworker made lib/budget.c's <limits.h> the worker's rate limits).
FUZZ_BASE    := -std=c11 -D_GNU_SOURCE -g -O1 $(FUZZ_SAN) -MMD -MP -Ilib -iquote worker -iquote ws
# The project's code as it is (clang may warn where gcc does not: report,
# do not fail); the harnesses with warnings as errors.
FUZZ_CFLAGS_LIB  := $(FUZZ_BASE) -fsanitize=fuzzer-no-link $(filter-out -Werror,$(WARN)) -Wno-error
FUZZ_CFLAGS_HARN := $(FUZZ_BASE) -fsanitize=fuzzer-no-link $(WARN) -Ifuzz
FUZZ_LDFLAGS     := -fsanitize=fuzzer $(FUZZ_SAN)

# The small shared modules every harness may use (the Makefile's modules).
FUZZ_LIB := $(foreach m,log buf utf8 monotime config models keyfile username budget,$($(m)_SRC))

# What each harness links beyond its own file: sources and pkg-config names
# (the Makefile's modules), and each harness object's own cflags.
fuzz_src_sse     := $(sse_SRC) $(FUZZ_LIB)
fuzz_pkgs_sse    :=
# upstream_body (worker/upstream_body.c) builds the body the harness checks.
fuzz_src_request := $(request_SRC) $(upstream_body_SRC) $(id_SRC) $(FUZZ_LIB)
fuzz_pkgs_request:= libcjson
fuzz_src_creds   := $(creds_SRC) $(FUZZ_LIB)
fuzz_pkgs_creds  :=
fuzz_src_token   := $(token_SRC) $(hmac_SRC) $(b64url_SRC) $(json_SRC) $(FUZZ_LIB)
fuzz_pkgs_token  := libcjson libjwt   # libjwt: the other side (signs claims, decodes ours)
fuzz_src_users   := $(users_SRC) $(FUZZ_LIB)
fuzz_pkgs_users  := libxcrypt
# users_verify hashes on purpose slowly: fuzz_users.c wraps crypt_r.
fuzz_ld_users    := -Wl,--wrap=crypt_r
fuzz_src_config  := $(FUZZ_LIB)
fuzz_pkgs_config :=
fuzz_src_utf8    := $(FUZZ_LIB)
fuzz_pkgs_utf8   :=
fuzz_src_discover := $(discover_SRC) $(models_live_SRC) $(wholefile_SRC) $(uphttp_SRC) $(FUZZ_LIB)
fuzz_pkgs_discover := libcjson libcurl
fuzz_src_sniff   := $(sniff_SRC) $(FUZZ_LIB)
fuzz_pkgs_sniff  :=
fuzz_src_zmtp    := $(zmtp_SRC) $(zmtp_wire_SRC) $(FUZZ_LIB)
fuzz_pkgs_zmtp   :=

fuzz_obj = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(1))
FUZZ_BINS := $(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ_NAMES))

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-clean fuzz-cc

fuzz-cc:
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: $(FUZZ_CC) not found: apt-get install clang libclang-rt-14-dev" >&2; exit 1; }
	@echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n); int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' | \
	    $(FUZZ_CC) -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null || \
	    { echo "fuzz: $(FUZZ_CC) cannot link libFuzzer: apt-get install libclang-rt-14-dev" >&2; exit 1; }

fuzz-build: $(addprefix $(FUZZ_BUILD)/fuzz_,$(fuzz_selected))

fuzz: fuzz-build
	@bash fuzz/run.sh fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS) $(fuzz_selected)

fuzz-smoke: fuzz-build
	@bash fuzz/run.sh smoke $(FUZZ_BUILD) $(fuzz_selected)

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

clean: fuzz-clean

# Keeps the build out of git even where .gitignore does not list it.
$(FUZZ_BUILD)/.gitignore:
	@mkdir -p $(dir $@)
	@printf '*\n' >$@

$(FUZZ_BUILD)/obj/fuzz/%.o: fuzz/%.c | fuzz-cc $(FUZZ_BUILD)/.gitignore
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS_HARN) $(FUZZ_PKG_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/obj/%.o: %.c | fuzz-cc $(FUZZ_BUILD)/.gitignore
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS_LIB) $(FUZZ_PKG_CFLAGS) -c $< -o $@

define fuzz_link
$(FUZZ_BUILD)/fuzz_$(1): $(FUZZ_BUILD)/obj/fuzz/fuzz_$(1).o $(call fuzz_obj,$(fuzz_src_$(1)))
	$$(FUZZ_CC) $$(FUZZ_LDFLAGS) $(fuzz_ld_$(1)) -o $$@ $$^ $(if $(fuzz_pkgs_$(1)),$$(call pkg_libs,$(fuzz_pkgs_$(1))))
endef
$(foreach h,$(FUZZ_NAMES),$(eval $(call fuzz_link,$(h))))
# Each object's cflags: those of the packages of the harnesses it serves.
$(foreach h,$(FUZZ_NAMES),$(eval $(FUZZ_BUILD)/obj/fuzz/fuzz_$(h).o $(call fuzz_obj,$(fuzz_src_$(h))): FUZZ_PKG_CFLAGS += $(call pkg_cflags,$(fuzz_pkgs_$(h)))))

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
