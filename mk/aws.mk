# AWS client (SSM and STS): libxml2 for STS replies, and the integration
# step against moto (IAM authentication on) and the fault stand-in.
PKG_MODULES += libxml-2.0

AWS_TEST_SRCS := $(sort $(wildcard tests/aws/*.c))
AWS_TEST_OBJS := $(AWS_TEST_SRCS:%.c=$(BUILD)/obj/%.o)
AWS_TEST_BIN := $(BUILD)/tests/aws-integration

$(AWS_TEST_BIN): $(AWS_TEST_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(AWS_TEST_OBJS) $(LIB) $(LIBS_ALL) -lcriterion

.PHONY: test-aws test-aws-asan
TEST_STEPS += test-aws test-aws-asan
test-aws: $(AWS_TEST_BIN) $(PROGRAM)
	sh tests/run-step.sh aws-integration sh tests/aws/run-integration.sh $(AWS_TEST_BIN) $(PROGRAM)

# The same step on the AddressSanitizer and UndefinedBehaviorSanitizer build.
test-aws-asan:
	$(MAKE) VARIANT=asan build/asan/tests/aws-integration build/asan/immutable-guard
	sh tests/run-step.sh aws-integration-asan sh tests/aws/run-integration.sh build/asan/tests/aws-integration \
	    build/asan/immutable-guard

-include $(AWS_TEST_OBJS:.o=.d)
