# `immutable-guard check` end to end, on the release and the sanitizer build.
TEST_STEPS += test-check test-check-asan

.PHONY: test-check test-check-asan
test-check:
	$(MAKE) VARIANT=release build/release/immutable-guard
	sh tests/run-step.sh check-release sh tests/check/run.sh build/release/immutable-guard

test-check-asan:
	$(MAKE) VARIANT=asan build/asan/immutable-guard
	sh tests/run-step.sh check-asan sh tests/check/run.sh build/asan/immutable-guard
