#!/bin/sh
# Render the kustomize base, the cert-manager overlay and the development
# manifests offline with the installed kubectl, then check their key fields.
#
#   sh tests/deploy/run.sh IMMUTABLE_GUARD_BINARY
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 IMMUTABLE_GUARD_BINARY" >&2
    exit 2
fi
binary=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ig-deploy-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

kubectl kustomize "$root/deploy" >"$work/base.yaml"
kubectl kustomize "$root/deploy/overlays/cert-manager" >"$work/cert-manager.yaml"
kubectl kustomize "$root/deploy/overlays/mutating" >"$work/mutating.yaml"
sh "$root/deploy/render-dev.sh" "$work/certs" "$work/dev.yaml" 2>/dev/null
"$binary" serve --help >"$work/serve-help.txt"
python3 "$root/tests/deploy/check_manifests.py" "$work/base.yaml" "$work/cert-manager.yaml" \
    "$work/dev.yaml" "$work/certs/ca.crt" "$work/serve-help.txt" "$work/mutating.yaml"
