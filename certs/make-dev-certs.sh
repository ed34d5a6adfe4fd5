#!/bin/sh
# Make a development CA and an ECDSA P-256 serving certificate for the webhook.
#
#   sh certs/make-dev-certs.sh DIR
#
# Writes DIR/ca.crt, DIR/ca.key, DIR/tls.crt and DIR/tls.key. The serving
# certificate names the in-cluster Service (SERVICE.NAMESPACE.svc and
# SERVICE.NAMESPACE.svc.cluster.local, both "immutable-guard" by default) plus
# localhost and 127.0.0.1 for local runs. Does nothing when DIR already contains a
# pair that the CA verifies and that stays valid for at least one more day.
# ECDSA P-256 because a full TLS handshake with it costs GnuTLS far less CPU
# than with RSA-2048.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1
service=${SERVICE:-immutable-guard}
namespace=${NAMESPACE:-immutable-guard}
days=${DAYS:-365}

if [ -s "$dir/ca.crt" ] && [ -s "$dir/tls.crt" ] && [ -s "$dir/tls.key" ] &&
    openssl x509 -in "$dir/tls.crt" -noout -checkend 86400 >/dev/null 2>&1 &&
    openssl verify -CAfile "$dir/ca.crt" "$dir/tls.crt" >/dev/null 2>&1; then
    exit 0
fi

mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

openssl ecparam -name prime256v1 -genkey -noout -out "$work/ca.key"
openssl req -x509 -new -key "$work/ca.key" -sha256 -days "$days" \
    -subj "/CN=immutable-guard development CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$work/ca.crt" 2>/dev/null

openssl ecparam -name prime256v1 -genkey -noout -out "$work/tls.key.sec1"
# PKCS#8, the form most TLS libraries read without a hint.
openssl pkcs8 -topk8 -nocrypt -in "$work/tls.key.sec1" -out "$work/tls.key"
openssl req -new -key "$work/tls.key" -subj "/CN=$service.$namespace.svc" -out "$work/tls.csr"
cat >"$work/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:$service.$namespace.svc,DNS:$service.$namespace.svc.cluster.local,DNS:localhost,IP:127.0.0.1
EXT
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
    -CAcreateserial -days "$days" -sha256 -extfile "$work/ext.cnf" -out "$work/tls.crt" 2>/dev/null

chmod 600 "$work/ca.key" "$work/tls.key"
for f in ca.key ca.crt tls.key tls.crt; do
    mv "$work/$f" "$dir/$f"
done
echo "wrote a CA and a serving certificate for $service.$namespace.svc, localhost and 127.0.0.1 to $dir" >&2
