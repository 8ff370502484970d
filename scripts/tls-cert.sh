#!/usr/bin/env bash
# tls-cert.sh DIR [NAME...]
#
# A self-signed certificate for the RTMPS and HTTPS listeners where no real
# one is given: DIR/cert.pem and DIR/key.pem (ECDSA P-256, 825 days), for
# the names given (default: localhost, 127.0.0.1, ::1 and this host's name).
# Made once: an existing pair is kept.  Prints the two paths.  For make run,
# the Docker image's first start, tests and benchmarks; in production use a
# certificate a CA signed (README, TLS: certbot).
set -euo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 DIR [NAME...]" >&2
    exit 2
fi
dir=$1
shift
mkdir -p "$dir"
cert=$dir/cert.pem key=$dir/key.pem

if [ ! -s "$cert" ] || [ ! -s "$key" ]; then
    names=("$@")
    [ ${#names[@]} = 0 ] && names=(localhost 127.0.0.1 ::1 "$(hostname)")
    san=
    for n in "${names[@]}"; do
        if [[ "$n" =~ ^[0-9.]+$ || "$n" == *:* ]]; then
            san+="${san:+,}IP:$n"
        else
            san+="${san:+,}DNS:$n"
        fi
    done
    (umask 077
     openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
         -nodes -days 825 -subj "/CN=${names[0]}" \
         -addext "subjectAltName=$san" \
         -keyout "$key.new" -out "$cert.new" 2>"$dir/openssl.log") || {
        cat "$dir/openssl.log" >&2
        echo "$0: error: openssl could not make a certificate" >&2
        exit 1
    }
    chmod 644 "$cert.new"
    mv -f "$key.new" "$key"
    mv -f "$cert.new" "$cert"
    rm -f "$dir/openssl.log"
fi

echo "$cert"
echo "$key"
