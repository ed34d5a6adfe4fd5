# End-to-end tests of `immutable-guard serve` over TLS, on the release build,
# the AddressSanitizer + UndefinedBehaviorSanitizer build and the
# ThreadSanitizer build (which sees races in our code, not inside the
# uninstrumented libmicrohttpd and GnuTLS). The test program itself is built
# once, with the release flags.
E2E_TRANSPORT_BIN := build/release/tests/e2e-transport

TEST_STEPS += test-e2e-transport test-e2e-transport-asan test-e2e-transport-tsan

.PHONY: test-e2e-transport test-e2e-transport-asan test-e2e-transport-tsan

build/release/tests/e2e-transport: tests/e2e/transport_e2e.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_BASE) $(CFLAGS_BASE) -O1 $(PKG_CFLAGS) -o $@ $< $(PKG_LIBS) -lcriterion

test-e2e-transport: $(E2E_TRANSPORT_BIN)
	$(MAKE) VARIANT=release build/release/immutable-guard
	sh tests/run-step.sh e2e-transport-release sh tests/e2e/run-transport.sh \
	    build/release/immutable-guard $(E2E_TRANSPORT_BIN)

test-e2e-transport-asan: $(E2E_TRANSPORT_BIN)
	$(MAKE) VARIANT=asan build/asan/immutable-guard
	sh tests/run-step.sh e2e-transport-asan sh tests/e2e/run-transport.sh \
	    build/asan/immutable-guard $(E2E_TRANSPORT_BIN)

# A ThreadSanitizer report makes the server exit with status 66, which the
# tests see as a failed stop.
test-e2e-transport-tsan: $(E2E_TRANSPORT_BIN)
	$(MAKE) VARIANT=tsan build/tsan/immutable-guard
	TSAN_OPTIONS="halt_on_error=0 exitcode=66 $${TSAN_OPTIONS:-}" \
	    sh tests/run-step.sh e2e-transport-tsan sh tests/e2e/run-transport.sh \
	    build/tsan/immutable-guard $(E2E_TRANSPORT_BIN)
