# Kubernetes manifests: render them with the development CA, and check them.
#
#   make deploy-manifests   write build/deploy/immutable-guard.yaml: the base with
#                           the caBundle of certs/dev/ca.crt and a TLS Secret made
#                           from certs/dev (created there when missing)
DEPLOY_MANIFESTS := build/deploy/immutable-guard.yaml

TEST_STEPS += test-deploy

.PHONY: deploy-manifests test-deploy
deploy-manifests:
	sh deploy/render-dev.sh certs/dev $(DEPLOY_MANIFESTS)

test-deploy:
	$(MAKE) VARIANT=release build/release/immutable-guard
	sh tests/run-step.sh deploy-manifests sh tests/deploy/run.sh build/release/immutable-guard
