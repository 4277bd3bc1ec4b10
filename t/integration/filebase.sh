#!/usr/bin/env bash
# file_base per instance, as scanmilter.conf(5) and the README say: a
# message (and its decoded parts) past large_message_threshold is held once
# for every instance, under milter { }'s file_base (spool/); an instance's
# own file_base is where that instance's engines write their temporary
# files (engine-NAME/), and an instance without one uses milter { }'s.
# Seen through the real daemon with strace (every file the daemon's
# threads create while two messages go through), then nothing left behind.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

sm_need_built "$MILTERGEN"
plan 11
if ! command -v strace >/dev/null; then
    skip_n 11 "strace is missing"
    finish
    exit
fi
WD=$(mktemp -d /tmp/sm-filebase.XXXXXX)
ST=
trap '[ -n "$ST" ] && kill "$ST" 2>/dev/null; sm_stop; [ -n "${KEEP:-}" ] || rm -rf "$WD"' EXIT
chmod 755 "$WD"
MAIL=$SM_TOP/t/data/mail
SIGS=$SM_TOP/t/data/sigs
M=$WD/d/tmp		# milter { }'s file_base (sm_start's)
A1=$WD/a1		# antivirus1's own

SM_MILTER_EXTRA='large_message_threshold = 64K' SM_AV="antivirus \"antivirus1\" {
  file_base = \"$A1\"
  clamav \"clamav1\" { database_directory = \"$SIGS\" }
}
antivirus \"antivirus2\" {
  clamav \"clamav2\" { database_directory = \"$SIGS\" }
}" sm_start "$WD/d"

check "antivirus1's engine directory is under its own file_base" wait_until 20 test -d "$A1/engine-clamav1"
check "antivirus2's engine directory is under milter { }'s" wait_until 20 test -d "$M/engine-clamav2"

# every thread of the daemon, and the ones it makes
tids=$(ls "/proc/$SM_PID/task" | paste -sd, -)
strace -qq -f -e trace=open,openat,creat,mkdir,mkdirat -o "$WD/trace" -p "$tids" 2>"$WD/strace.err" &
ST=$!
wait_until 5 test -s "$WD/strace.err" -o -e "$WD/trace" >/dev/null
sleep 1
r1=$(timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -t 30 "$MAIL/eicar-zip.eml" | grep '^RESULT')
r2=$(timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -t 30 "$MAIL/clean-large.eml" | grep '^RESULT')
sleep 1
kill "$ST" 2>/dev/null; wait "$ST" 2>/dev/null; ST=
check "EICAR zip rejected, the large message accepted" bash -c \
    "grep -q ' reject=1 ' <<<'$r1' && grep -q ' accept=1 ' <<<'$r2'"
# the files made: open with O_CREAT or O_TMPFILE, and directories
grep -E 'O_CREAT|O_TMPFILE|mkdir' "$WD/trace" | grep -o '"[^"]*"' | tr -d '"' | sort -u >"$WD/made"
sed 's/^/#   made: /' "$WD/made" | head -n 20
made_under() { grep -q "^$1/" "$WD/made" || grep -qx "$1" "$WD/made"; }
check "libclamav of antivirus1 unpacked into $A1/engine-clamav1" made_under "$A1/engine-clamav1"
check "libclamav of antivirus2 unpacked into milter { }'s engine-clamav2" made_under "$M/engine-clamav2"
check "the large message spilled to milter { }'s spool (O_TMPFILE)" \
    grep -q "\"$M/spool\", .*O_TMPFILE" "$WD/trace"
check "nothing of antivirus1's engine under milter { }'s file_base" bash -c "! grep -q '^$M/engine-clamav1' '$WD/made'"
check "nothing of antivirus2's engine under antivirus1's file_base" bash -c "! grep -q '^$A1/engine-clamav2' '$WD/made'"
check "no message spool under antivirus1's file_base" bash -c "! grep -q '^$A1/spool' '$WD/made' && [ ! -e '$A1/spool' ]"
check "stopped cleanly" sm_stop
check "nothing left in either file_base" bash -c \
    "[ -z \"\$(find '$M' '$A1' ! -type d | head -n 3)\" ]"

finish
