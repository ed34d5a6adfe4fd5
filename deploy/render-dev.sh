#!/bin/sh
# Render the base with a development key pair: the webhook configurations get
# the CA bundle from CERT_DIR/ca.crt, and a kubernetes.io/tls Secret
# immutable-guard-tls is made from CERT_DIR/tls.crt and tls.key.
#
#   sh deploy/render-dev.sh CERT_DIR OUTPUT_FILE
#
# Creates the key pair with certs/make-dev-certs.sh when CERT_DIR lacks one.
# The Secret keeps its name (no hash suffix), so a new pair applied later
# reaches the running pods as a file update, which the server reloads.
set -eu
if [ $# -ne 2 ]; then
    echo "usage: $0 CERT_DIR OUTPUT_FILE" >&2
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
cert_dir=$1
output=$2

sh "$root/certs/make-dev-certs.sh" "$cert_dir"
overlay=$(mktemp -d "${TMPDIR:-/tmp}/ig-deploy.XXXXXX")
trap 'rm -rf "$overlay"' EXIT

# kustomize reads generator files only from inside the kustomization folder.
cp "$cert_dir/tls.crt" "$cert_dir/tls.key" "$overlay/"
ca_bundle=$(base64 -w0 <"$cert_dir/ca.crt")
ln -s "$root/deploy" "$overlay/deploy"

# WITH_MUTATING=1 adds the optional mutating webhook (deploy/components/mutating).
components=""
if [ "${WITH_MUTATING:-0}" = 1 ]; then
    components="components: [deploy/components/mutating]"
fi

cat >"$overlay/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deploy/base
$components
secretGenerator:
  - name: immutable-guard-tls
    namespace: immutable-guard
    type: kubernetes.io/tls
    files:
      - tls.crt
      - tls.key
generatorOptions:
  disableNameSuffixHash: true
patches:
  - target:
      kind: ValidatingWebhookConfiguration
      name: immutable-guard
    patch: |-
      - op: add
        path: /webhooks/0/clientConfig/caBundle
        value: $ca_bundle
  - target:
      kind: MutatingWebhookConfiguration
      name: immutable-guard
    patch: |-
      - op: add
        path: /webhooks/0/clientConfig/caBundle
        value: $ca_bundle
YAML

# Write through a temporary file and a rename only onto a regular file: a
# rename onto a device such as /dev/null would replace the device itself.
if [ -e "$output" ] && [ ! -f "$output" ]; then
    echo "$0: $output exists and is not a regular file; name a file to write" >&2
    exit 2
fi
mkdir -p "$(dirname "$output")"
kubectl kustomize "$overlay" >"$output.tmp"
mv "$output.tmp" "$output"
echo "wrote $output; apply it with: kubectl apply -f $output" >&2
