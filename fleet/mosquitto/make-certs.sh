#!/bin/sh
# Make the gym's own CA and the broker's TLS certificate, valid 10 years:
#   fleet/mosquitto/make-certs.sh DIR BROKER_NAME
# BROKER_NAME is what the boxes' fleet.broker_host says: a host name or an IP address.
# DIR gets ca.crt (copy it to every box as fleet.ca_file), ca.key (keep it offline: it
# signs certificates), broker.crt and broker.key (for mosquitto only).
set -eu
dir=$1
name=$2
case $name in
    *[!0-9.]*) san="DNS:$name" ;;
    *) san="IP:$name" ;;
esac
mkdir -p "$dir"
cd "$dir"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=hipflex gym CA" -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=$name" -keyout broker.key -out broker.csr 2>/dev/null
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" > broker.ext
openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
    -extfile broker.ext -out broker.crt 2>/dev/null
rm -f broker.csr broker.ext ca.srl
chmod 644 ca.crt broker.crt
echo "made $dir/ca.crt and $dir/broker.crt for $san"
