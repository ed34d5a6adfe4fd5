# Static checks: banned calls, cppcheck and clang-tidy over src/. About a
# minute on two cores.
#
#   make static
.PHONY: static test-static

TEST_STEPS += test-static

static:
	sh tests/static/run.sh src

test-static:
	sh tests/run-step.sh static sh tests/static/run.sh src
