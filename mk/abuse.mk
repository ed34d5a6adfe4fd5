# Abuse tests against bin/immutable-guard serve: idle connections,
# slowloris headers, partial bodies, 32 x 8 MiB bodies and garbage TLS
# handshakes, while a well-behaved client checks every reply. About 45 s.
TEST_STEPS += test-abuse

# test-abuse-asan runs the same attacks on the sanitizer build, with the
# latency and memory limits raised for its overhead.
.PHONY: test-abuse test-abuse-asan

test-abuse:
	$(MAKE) VARIANT=release all
	sh tests/run-step.sh abuse sh tests/abuse/run.sh bin/immutable-guard

test-abuse-asan:
	$(MAKE) VARIANT=asan build/asan/immutable-guard
	ABUSE_P99_LIMIT_MS=250 ABUSE_RSS_CAP_MIB=1024 \
	    sh tests/run-step.sh abuse-asan sh tests/abuse/run.sh build/asan/immutable-guard
