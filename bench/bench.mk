# bench/bench.mk - benchmark targets (included by the Makefile).
#   make bench        the full benchmark: prints the table, writes bench/RESULTS.md
#   make bench-smoke  a tiny run (well under a minute) printing TAP lines
#   make bench-usage  the usage ledger's budget sums, timed (bench/usage_sum.c)
#   make bench-notify URL=postgresql://...  LISTEN/NOTIFY's cost (bench/notify.c)
.PHONY: bench bench-smoke
bench: all
	@bench/run.sh

bench-smoke: all
	@bench/run.sh --smoke

# make bench-usage: what a budget check's sums cost (bench/usage_sum.c: the
# usage ledger's covering indexes with 300 000 rows), printed.
usagebench_SRC := bench/usage_sum.c
usagebench_PKGS := sqlite3 libcjson
USAGEBENCH_MODS := usagebench store store_usage budget id log monotime
USAGEBENCH_BIN := $(BUILD)/bench-usage-sum
$(eval $(call module_flags,usagebench))
$(eval $(call program,usagebench,$(USAGEBENCH_BIN),$(USAGEBENCH_MODS)))
.PHONY: bench-usage
bench-usage: $(USAGEBENCH_BIN)
	@$(USAGEBENCH_BIN)

# make bench-notify URL=postgresql://...: what LISTEN/NOTIFY costs between
# two workers (bench/notify.c: notifies/s, latency p50/p99), printed. It
# links libpq itself (the worker loads it: lib/pq.h).
notifybench_SRC := bench/notify.c
notifybench_INC := $(call pkg_cflags,libpq)
notifybench_LIBS := $(call pkg_libs,libpq)
NOTIFYBENCH_MODS := notifybench
NOTIFYBENCH_BIN := $(BUILD)/bench-notify
$(eval $(call module_flags,notifybench))
$(eval $(call program,notifybench,$(NOTIFYBENCH_BIN),$(NOTIFYBENCH_MODS)))
.PHONY: bench-notify
bench-notify: $(NOTIFYBENCH_BIN)
	@$(NOTIFYBENCH_BIN) "$(URL)"
