# ThreadSanitizer run of the code that shares state between threads: review
# decisions with per-thread arenas, the asynchronous log writer and metrics.
TEST_STEPS += test-tsan-stress

TSAN_STRESS := build/tsan/tests/stress

build/tsan/tests/stress: build/tsan/obj/tests/tsan/stress.o build/tsan/libig.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_ALL)

.PHONY: test-tsan-stress
test-tsan-stress:
	$(MAKE) VARIANT=tsan $(TSAN_STRESS)
	sh tests/run-step.sh tsan-stress env TSAN_OPTIONS=halt_on_error=1 $(TSAN_STRESS) \
	    tests/fixtures/admission/external-secret-v2.create.json
