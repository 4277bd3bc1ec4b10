#!/usr/bin/env bash
# The daemon driven step by step by Debian's miltertest (t/miltertest/*.lua):
# clean mail tagged, EICAR rejected 550 5.7.1, forged status headers removed,
# aborts, IPv6 client address, skip rules (networks, SMTP AUTH, an MTA
# macro); then the bench's milter client with and without the no-reply
# steps: an MTA that offers them (Postfix, Sendmail 8.14+) waits only for
# MAIL FROM and end of message, one that does not gets "continue" for each
# step from libmilter, and the answers are the same; then a clean SIGTERM
# stop with nothing left in the temporary directory.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

plan 15
WD=$(mktemp -d /tmp/sm-mt.XXXXXX)
trap 'sm_stop; rm -rf "$WD"' EXIT

# skip.lua expects these skip rules; basic.lua's clients are outside them
SM_AV='antivirus "antivirus1" {
  skip_networks = "10.0.0.0/8 2001:db8::/32"  skip_authenticated = yes
  clamav "clamav1" { database_directory = "'"$SM_TOP/t/data/sigs"'" }
}' sm_start "$WD"
for script in "$SM_TOP"/t/miltertest/*.lua; do
    name=$(basename "$script")
    if out=$(timeout 60 miltertest -D socket="unix:$SM_SOCK" -s "$script" 2>&1); then
        ok "miltertest $name"
    else
        not_ok "miltertest $name"
    fi
    printf '%s\n' "$out" | sed 's/^/#   /'
done

# a round trip per message for MAIL FROM and one for its end, none for
# the recipient, headers, end of headers and body chunks
mail=$(ls "$SM_TOP"/t/data/mail/*.eml | wc -l)
gen() { "$MILTERGEN" -s "unix:$SM_SOCK" -c 2 -n $((mail * 2)) -t 60 -T 120 "$@" \
    "$SM_TOP"/t/data/mail; }
field() { grep -oE " $1=[0-9]+" <<<"$2" | cut -d= -f2; }
nr=$(gen | grep '^RESULT') || true
printf '#   %s\n' "$nr"
check "offered the no-reply steps: every message answered, 2 round trips each" \
    test "$(field done "$nr")" = $((mail * 2)) -a "$(field waits "$nr")" = $((mail * 4))
old=$(gen -R | grep '^RESULT') || true
printf '#   %s\n' "$old"
check "not offered: every message answered, a reply to each step (libmilter's)" \
    test "$(field done "$old")" = $((mail * 2)) -a "$(field waits "$old")" -gt $((mail * 12))
check "... with the same answers (accept and reject counts)" \
    test "$(field accept "$nr")/$(field reject "$nr")" = \
        "$(field accept "$old")/$(field reject "$old")" -a "$(field reject "$nr")" -gt 0 \
        -a "$(field accept "$nr")" -gt 0
check "... and no tempfail, no error either way" test \
    "$(field tempfail "$nr")$(field other "$nr")$(field tempfail "$old")$(field other "$old")" = 0000

check "log line for the clean message names queue id, client, sender and verdict" \
    sm_log_has 'MT0001: client=client.example\[::1\], from=<sender@example.com>, rcpts=1, .*verdict=clean'
check "log line for the infected message names rcpts, virus, engine and reply" \
    sm_log_has 'MT0002: client=client.example\[::1\], from=<sender@example.com>, rcpts=1, .*verdict=infected, virus=Scanmilter.Test.EICAR.UNOFFICIAL, engine=clamav1, reply=reject 550 5.7.1'
nrel=$(grep -c 'reload (SIGHUP): configuration and signatures' "$SM_LOG")
hup_done() { [ "$(grep -c 'reload (SIGHUP): configuration and signatures' "$SM_LOG")" -gt "$nrel" ]; }
kill -HUP "$SM_PID"
check "SIGHUP reloads (the log says so)" wait_until 30 hup_done
check "... and does not stop the milter" bash -c "kill -0 $SM_PID && [ -S '$SM_SOCK' ]"
if out=$(timeout 60 miltertest -D socket="unix:$SM_SOCK" -s "$SM_TOP/t/miltertest/basic.lua" 2>&1); then
    ok "still serving after SIGHUP"
else
    not_ok "still serving after SIGHUP"; printf '%s\n' "$out" | sed 's/^/#   /'
fi
check "nothing held open or left under file_base while it runs" sm_tmp_empty
check "SIGTERM stops the daemon with status 0" sm_stop
check "no temporary file left under file_base" sm_tmp_empty
check "no error in the daemon log" bash -c "! grep -E 'error|crit' '$SM_LOG'"
finish
