# Every patch of the mutating webhook, applied by an independent RFC 6902
# implementation (fast-json-patch on Node.js).
TEST_STEPS += test-patch

REVIEW_TOOL := $(BUILD)/tests/review-tool

$(REVIEW_TOOL): $(BUILD)/obj/tests/patch/review-tool.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LIBS_ALL)

.PHONY: test-patch
test-patch: $(REVIEW_TOOL)
	cd tests/patch && npm ci --no-audit --no-fund --silent
	sh tests/run-step.sh patch node tests/patch/verify.mjs $(REVIEW_TOOL) \
	    tests/fixtures/admission/policy-cases.json \
	    tests/fixtures/admission/external-secret-v2.create.json
