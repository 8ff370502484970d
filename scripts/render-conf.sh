#!/usr/bin/env bash
# render-conf.sh IN OUT VAR=value...
#
# Renders an nginx-conf/ template: every @VAR@ becomes its value (values are
# taken literally; an empty value is fine).  Fails, writing nothing, when a
# placeholder is left without a value, so a configuration is never started
# half rendered.  Used by scripts/run.sh and by the tests (t/80-conf.t).
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 IN OUT VAR=value..." >&2
    exit 2
fi
in=$1 out=$2
shift 2
[ -r "$in" ] || { echo "$0: error: cannot read $in" >&2; exit 1; }

script=(-e '')
for pair in "$@"; do
    name=${pair%%=*}
    value=${pair#*=}
    if [[ "$pair" != *=* || ! "$name" =~ ^[A-Z][A-Z0-9_]*$ ]]; then
        echo "$0: error: bad assignment '$pair' (want NAME=value)" >&2
        exit 2
    fi
    if [[ "$value" == *$'\n'* ]]; then
        echo "$0: error: the value of $name spans lines" >&2
        exit 2
    fi
    # literal replacement text: escape sed's specials and the delimiter
    value=$(printf '%s' "$value" | sed -e 's/[\\&|]/\\&/g')
    script+=(-e "s|@${name}@|${value}|g")
done

tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
sed "${script[@]}" "$in" > "$tmp"

left=$(grep -o '@[A-Z][A-Z0-9_]*@' "$tmp" | sort -u | tr '\n' ' ' || true)
if [ -n "$left" ]; then
    echo "$0: error: $in: no value for ${left% }" >&2
    exit 1
fi

chmod 644 "$tmp"
mv "$tmp" "$out"
trap - EXIT
