# Benchmark: nginx (TLS ceiling), immutable-guard serve and a Flask webhook
# under gunicorn, side by side, plus instructions per review under callgrind.
# Not part of `make test`; results and method are in tests/bench/README.md.
#
#   make bench                     BENCH_ROUNDS=3 BENCH_SECONDS=10 by default
#   make bench-callgrind           instructions per review (apply-time and 1 MiB)
BENCH_OUT := build/bench

.PHONY: bench bench-callgrind

$(BENCH_OUT)/loadgen: tests/bench/loadgen.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O2 -Wall -Wextra -Werror -pthread -o $@ $< -lssl -lcrypto

$(BENCH_OUT)/review-tool: build/release/tests/review-tool
	@mkdir -p $(dir $@)
	cp $< $@

$(BENCH_OUT)/callgrind-driver: tests/bench/callgrind-driver.c build/release/libig.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_BASE) -std=c11 $(WARN) -O2 -g -pthread $(PKG_CFLAGS) -o $@ $< \
	    build/release/libig.a $(PKG_LIBS) -lm

bench: deps
	$(MAKE) VARIANT=release all $(BENCH_OUT)/loadgen $(BENCH_OUT)/review-tool $(BENCH_OUT)/callgrind-driver
	sh tests/bench/run.sh $(BENCH_OUT)
	sh tests/bench/callgrind.sh $(BENCH_OUT)

bench-callgrind:
	$(MAKE) VARIANT=release $(BENCH_OUT)/callgrind-driver
	sh tests/bench/callgrind.sh $(BENCH_OUT)
