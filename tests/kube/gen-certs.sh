#!/bin/sh
# Write a test CA, a server certificate for 127.0.0.1 and localhost, and a
# client certificate (CN=ig-client) into DIR. Keys are EC P-256.
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -subj /CN=standin-ca -days 2 -out ca.crt 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null
openssl req -new -key server.key -subj /CN=standin-apiserver -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.crt 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out client.key 2>/dev/null
openssl req -new -key client.key -subj /CN=ig-client -out client.csr 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' >client.ext
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile client.ext -out client.crt 2>/dev/null
# A second CA that signed nothing, for verification failures.
openssl ecparam -name prime256v1 -genkey -noout -out other-ca.key 2>/dev/null
openssl req -x509 -new -key other-ca.key -subj /CN=other-ca -days 2 -out other-ca.crt 2>/dev/null
rm -f server.csr client.csr server.ext client.ext ca.srl
