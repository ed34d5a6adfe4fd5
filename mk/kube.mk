# Kubernetes client test steps. Each step starts its own stand-in API server
# (tests/kube/standin.py) on 127.0.0.1 and a free port, and stops it on exit.
#   kube-standin      the stand-in's own behaviours, checked before any client
#   kube-client       client and informer tests (Criterion) against the stand-in
#   kube-client-asan  the same tests built with AddressSanitizer and UBSan
#   kube-client-tsan  the same tests built with ThreadSanitizer; Criterion
#                     cannot start under TSan here, so they run in one process
#                     through the small runner in tests/kube/tsan
#   kube-leader       two daemons electing a leader through one Lease: the test
#                     driver with short leases, then `immutable-guard serve`
#   kube-leader-asan  the driver part again, built with AddressSanitizer and UBSan
#   kube-leader-tsan  the driver part again, with the daemon built with TSan
#   kube-kubectl      the installed kubectl against the stand-in

# No __pycache__ folders in the tree from importing standin_ctl.
KUBE_PYTHON := env PYTHONDONTWRITEBYTECODE=1 python3

KUBE_TEST_SRCS := $(sort $(wildcard tests/kube/client/*.c))
KUBE_TEST_OBJS := $(KUBE_TEST_SRCS:%.c=$(BUILD)/obj/%.o)
KUBE_CLIENT_BIN := $(BUILD)/tests/kube-client
KUBE_LEADER_BIN := $(BUILD)/tests/kube-leader-driver

$(KUBE_CLIENT_BIN): $(KUBE_TEST_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(KUBE_TEST_OBJS) $(LIB) $(LIBS_ALL) -lcriterion

$(KUBE_LEADER_BIN): $(BUILD)/obj/tests/kube/leader_driver.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LIBS_ALL)

KUBE_TSAN_DIR := $(BUILD)/obj/tests/kube/tsan-client
KUBE_TSAN_OBJS := $(KUBE_TEST_SRCS:tests/kube/client/%.c=$(KUBE_TSAN_DIR)/%.o) \
    $(KUBE_TSAN_DIR)/shim_main.o
KUBE_TSAN_BIN := $(BUILD)/tests/kube-client-single

$(KUBE_TSAN_DIR)/%.o: tests/kube/client/%.c
	@mkdir -p $(dir $@)
	$(CC) -Itests/kube/tsan $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(KUBE_TSAN_DIR)/shim_main.o: tests/kube/tsan/shim_main.c
	@mkdir -p $(dir $@)
	$(CC) -Itests/kube/tsan $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(KUBE_TSAN_BIN): $(KUBE_TSAN_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(KUBE_TSAN_OBJS) $(LIB) $(LIBS_ALL)

-include $(KUBE_TEST_OBJS:.o=.d) $(KUBE_TSAN_OBJS:.o=.d) $(BUILD)/obj/tests/kube/leader_driver.d

TEST_STEPS += kube-standin kube-client kube-client-asan kube-client-tsan kube-leader \
    kube-leader-asan kube-leader-tsan \
    kube-kubectl

.PHONY: kube-standin kube-client kube-client-asan kube-client-tsan kube-client-single kube-leader \
    kube-leader-asan kube-leader-tsan kube-leader-single kube-kubectl

kube-standin:
	sh tests/run-step.sh kube-standin $(KUBE_PYTHON) tests/kube/test_standin.py

kube-client: $(KUBE_CLIENT_BIN)
	sh tests/run-step.sh kube-client-$(VARIANT) $(KUBE_PYTHON) tests/kube/run_client_tests.py $(KUBE_CLIENT_BIN)

kube-client-asan:
	$(MAKE) VARIANT=asan kube-client

kube-client-tsan:
	$(MAKE) VARIANT=tsan kube-client-single

kube-client-single: $(KUBE_TSAN_BIN)
	sh tests/run-step.sh kube-client-$(VARIANT) env TSAN_OPTIONS=halt_on_error=1 \
	    $(KUBE_PYTHON) tests/kube/run_client_tests.py $(KUBE_TSAN_BIN)

kube-leader: $(KUBE_LEADER_BIN) $(PROGRAM)
	sh tests/run-step.sh kube-leader $(KUBE_PYTHON) tests/kube/test_leader.py $(KUBE_LEADER_BIN) \
	    $(PROGRAM)

kube-leader-asan:
	$(MAKE) VARIANT=asan kube-leader-single

kube-leader-tsan:
	$(MAKE) VARIANT=tsan kube-leader-single

kube-leader-single: $(KUBE_LEADER_BIN)
	sh tests/run-step.sh kube-leader-$(VARIANT) env TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
	    $(KUBE_PYTHON) tests/kube/test_leader.py $(KUBE_LEADER_BIN)

kube-kubectl:
	sh tests/run-step.sh kube-kubectl $(KUBE_PYTHON) tests/kube/test_kubectl.py
