#!/bin/sh
# tests/plmcd/make-certs.sh DIR - the certificates the TLS tests use,
# made at test time with openssl (never committed), under the file names
# memcached's t/ harness expects (t/README-TLS.md says how memcached
# made its own):
#   cacert.pem cakey.pem          a test CA
#   server_crt.pem server_key.pem the server, signed by the CA
#                                 (OU=Subunit of Test Organization)
#   client_crt.pem client_key.pem a client, signed by the CA
#   server.pem                    a self-signed certificate and its key in
#                                 one file (OU=FOR TESTING PURPOSES ONLY),
#                                 what ssl_cert_refresh.t swaps in
#   other_ca.pem other_client_crt.pem other_client_key.pem
#                                 a second CA and a client it signed: a
#                                 client the first CA does not vouch for
set -eu
d=$1
mkdir -p "$d"
cd "$d"
days=3650
req() { openssl req -new -sha256 -key "$1" -subj "$2" -out "$3" 2>/dev/null; }
key() { openssl genrsa -out "$1" 2048 2>/dev/null; }
sign() { # csr ca cakey out san
	printf 'subjectAltName=%s\n' "$5" >"$4.ext"
	openssl x509 -req -in "$1" -CA "$2" -CAkey "$3" -CAcreateserial \
		-extfile "$4.ext" -out "$4" -days $days -sha256 2>/dev/null
	rm -f "$4.ext" "$1"
}
ca() { # key cert subject
	key "$1"
	openssl req -x509 -new -nodes -key "$1" -sha256 -days $days \
		-out "$2" -subj "$3" 2>/dev/null
}
ca cakey.pem cacert.pem "/CN=Test Root Certificate Authority/ST=CA/C=US/O=Test/OU=Test Department"
key server_key.pem
req server_key.pem "/C=US/ST=CA/O=Test/OU=Subunit of Test Organization/CN=test.com" server.csr
sign server.csr cacert.pem cakey.pem server_crt.pem "DNS:test.com,DNS:localhost,IP:127.0.0.1"
key client_key.pem
req client_key.pem "/C=US/ST=CA/O=Test Client/OU=Subunit of Test Organization/CN=client.test.com" client.csr
sign client.csr cacert.pem cakey.pem client_crt.pem "DNS:client.test.com"
# one file holding a self-signed certificate and its key
key refresh_key.pem
openssl req -x509 -new -nodes -key refresh_key.pem -sha256 -days $days \
	-out refresh_crt.pem -subj "/C=US/ST=CA/O=Test/OU=FOR TESTING PURPOSES ONLY/CN=localhost" 2>/dev/null
cat refresh_crt.pem refresh_key.pem >server.pem
rm -f refresh_crt.pem refresh_key.pem
ca other_cakey.pem other_ca.pem "/CN=Another Test CA/O=Elsewhere"
key other_client_key.pem
req other_client_key.pem "/O=Elsewhere/CN=client.elsewhere" other.csr
sign other.csr other_ca.pem other_cakey.pem other_client_crt.pem "DNS:client.elsewhere"
rm -f ./*.srl
