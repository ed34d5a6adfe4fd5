# Static checks: banned calls, cppcheck and clang-tidy over src/.
#
#   make static
#
# NOTE: test-static is not in TEST_STEPS yet, because clang-tidy still
# reports two findings in src/transport/listen.c. Add it to TEST_STEPS
# once `make static` passes on the whole tree. It takes about a minute.
.PHONY: static test-static

static:
	sh tests/static/run.sh src

test-static:
	sh tests/run-step.sh static sh tests/static/run.sh src
