#!/bin/sh
# man/gen-conf5.sh [SCANMILTER]: prints scanmilter.conf(5), made of the
# hand-written man/scanmilter.conf.5.in with its "@OPTIONS@" line replaced
# by `scanmilter options --man` (every option with its type, default and
# help, from the option tables).  Regenerate the committed page with
#   man/gen-conf5.sh build/src/scanmilter >man/scanmilter.conf.5
# t/integration/docs.sh fails when the two differ.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
scanmilter=${1:-$dir/../build/src/scanmilter}
opts=$(mktemp)
trap 'rm -f "$opts"' EXIT
"$scanmilter" options --man >"$opts"
grep -q '^\.\\" @OPTIONS@$' "$dir/scanmilter.conf.5.in" || {
    echo "gen-conf5.sh: no @OPTIONS@ line in scanmilter.conf.5.in" >&2; exit 1; }
sed -e "/^\.\\\\\" @OPTIONS@\$/{
r $opts
d
}" "$dir/scanmilter.conf.5.in"
