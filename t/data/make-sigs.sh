#!/bin/sh
# Regenerate the scanmilter test signature database in t/data/sigs/ from the
# installed Debian packages (clamav for sigtool, clamav-testfiles for the
# harmless sample files). No official ClamAV database is used or needed.
#
# Usage: t/data/make-sigs.sh [OUTDIR]     (default: directory of this script/sigs)
#
# Signatures (clamscan/libclamav report them with ".UNOFFICIAL" appended,
# because these databases are unsigned):
#   scanmilter-test.ndb  Scanmilter.Test.EICAR    body sig, the 68-byte EICAR string, any file type
#   scanmilter-test.hdb  Scanmilter.Test.ClamExe  md5 of clam.exe (544 bytes)
#   scanmilter-test.hsb  Scanmilter.Test.ClamPdf  sha256 of clam.pdf (7277 bytes)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/sigs}
testfiles=${CLAMAV_TESTFILES:-/usr/share/clamav-testfiles}

command -v sigtool >/dev/null || { echo "sigtool not found (apt-get install clamav)" >&2; exit 1; }
[ -r "$testfiles/clam.exe" ] || { echo "$testfiles/clam.exe missing (apt-get install clamav-testfiles)" >&2; exit 1; }

mkdir -p "$out"

# The standard EICAR test string, 68 bytes, no trailing newline.
# shellcheck disable=SC2016 # literal $ in the EICAR string
eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
[ "$(printf '%s' "$eicar" | wc -c)" -eq 68 ] || { echo "EICAR string is not 68 bytes" >&2; exit 1; }
hex=$(printf '%s' "$eicar" | sigtool --hex-dump | tr -d '\n')
printf 'Scanmilter.Test.EICAR:0:*:%s\n' "$hex" > "$out/scanmilter-test.ndb"

# Hash signatures: sigtool prints HASH:SIZE:FILENAME; replace the name.
sigtool --md5 "$testfiles/clam.exe" | cut -d: -f1,2 | sed 's/$/:Scanmilter.Test.ClamExe/' > "$out/scanmilter-test.hdb"
sigtool --sha256 "$testfiles/clam.pdf" | cut -d: -f1,2 | sed 's/$/:Scanmilter.Test.ClamPdf/' > "$out/scanmilter-test.hsb"

# Sanity checks. sigtool --decode-sigs only understands body/logical sigs
# (it rejects hash sigs with "Invalid or not supported signature format"),
# so the hash databases are checked by scanning the files they describe.
sigtool --decode-sigs < "$out/scanmilter-test.ndb" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%s' "$eicar" > "$tmp/eicar.com"
check() { # FILE EXPECTED-NAME
    got=$(clamscan --no-summary --database="$out" "$1" 2>&1 | sed -n 's/^.*: \(.*\) FOUND$/\1/p')
    [ "$got" = "$2" ] || { echo "make-sigs: $1: expected $2, got '$got'" >&2; exit 1; }
}
check "$tmp/eicar.com"            Scanmilter.Test.EICAR.UNOFFICIAL
check "$testfiles/clam.exe"       Scanmilter.Test.ClamExe.UNOFFICIAL
check "$testfiles/clam.pdf"       Scanmilter.Test.ClamPdf.UNOFFICIAL
echo "wrote $out/scanmilter-test.{ndb,hdb,hsb}"
