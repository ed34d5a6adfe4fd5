# ThreadSanitizer run of the AWS client: threads that share one credential
# provider, each with its own SSM client, against the fault stand-in and moto
# (tests/tsan/run-aws.sh starts both on 127.0.0.1 and stops them on exit).
# halt_on_error makes the first race end the driver with status 66, and
# run-step.sh also fails the step on any ThreadSanitizer report it prints.
TEST_STEPS += test-aws-tsan

AWS_TSAN_BIN := build/tsan/tests/aws-stress

build/tsan/tests/aws-stress: build/tsan/obj/tests/tsan/aws_stress.o build/tsan/libig.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_ALL)

.PHONY: test-aws-tsan
test-aws-tsan:
	$(MAKE) VARIANT=tsan $(AWS_TSAN_BIN)
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 $${TSAN_OPTIONS:-}" \
	    sh tests/run-step.sh aws-tsan sh tests/tsan/run-aws.sh $(AWS_TSAN_BIN)

-include build/tsan/obj/tests/tsan/aws_stress.d
