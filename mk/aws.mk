# AWS client (SSM and STS): libxml2 for STS replies, and the integration
# step against moto (IAM authentication on) and the fault stand-in.
PKG_MODULES += libxml-2.0

AWS_TEST_SRCS := $(sort $(wildcard tests/aws/*.c))
AWS_TEST_OBJS := $(AWS_TEST_SRCS:%.c=$(BUILD)/obj/%.o)
AWS_TEST_BIN := $(BUILD)/tests/aws-integration

$(AWS_TEST_BIN): $(AWS_TEST_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(AWS_TEST_OBJS) $(LIB) $(LIBS_ALL) -lcriterion

.PHONY: test-aws
TEST_STEPS += test-aws
test-aws: $(AWS_TEST_BIN) $(PROGRAM)
	sh tests/run-step.sh aws-integration sh tests/aws/run-integration.sh $(AWS_TEST_BIN) $(PROGRAM)

-include $(AWS_TEST_OBJS:.o=.d)
