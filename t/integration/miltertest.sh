#!/usr/bin/env bash
# The daemon driven step by step by Debian's miltertest (t/miltertest/*.lua):
# clean mail tagged, EICAR rejected 550 5.7.1, forged status headers removed,
# aborts, IPv6 client address, skip rules (networks, SMTP AUTH, an MTA
# macro), then a clean SIGTERM stop with nothing left in the temporary
# directory.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

plan 11
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
