# valgrind memcheck of the real server over a set of requests, a key pair
# reload and SIGTERM: zero errors and zero leaked bytes required.
TEST_STEPS += test-valgrind

.PHONY: test-valgrind
test-valgrind:
	$(MAKE) VARIANT=release build/release/immutable-guard
	sh tests/run-step.sh valgrind sh tests/valgrind/run.sh build/release/immutable-guard
