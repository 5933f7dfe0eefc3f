# bench/bench.mk - benchmark targets (included by the Makefile).
#   make bench        the full benchmark: prints the table, writes bench/RESULTS.md
#   make bench-smoke  a tiny run (well under a minute) printing TAP lines
.PHONY: bench bench-smoke
bench: all
	@bench/run.sh

bench-smoke: all
	@bench/run.sh --smoke
