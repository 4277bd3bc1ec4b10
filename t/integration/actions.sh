#!/usr/bin/env bash
# What the daemon answers for each verdict, as the README and scanmilter.conf(5) say, through
# the real daemon (test engine, verdict per message by X-Test-Verdict): reject_text with %v %i
# %e; action = tempfail with the tempfailure code; unscannable_action as action, or its own;
# on_error tempfail (default), accept (tagged "Unscanned (error: ...)") and reject; action =
# pass tags "Infected (NAME)"; and `scanmilter scan` exits 1 for a rejection that is not a
# virus (unscannable, spam).
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"
. "$(dirname "$0")/../lib/promises.sh"

sm_need_built "$MILTERGEN"
WD=$(mktemp -d /tmp/sm-actions.XXXXXX)
trap 'sm_stop; rm -rf "$WD"' EXIT
chmod 755 "$WD"
for v in clean infected unscannable error; do
    mkdir -p "$WD/m/$v"
    msg_file "$WD/m/$v/m.eml" "X-Test-Verdict: $v"
done

av() {  # OPTIONS...  -> an antivirus block with one test engine
    printf 'antivirus "av1" {\n  %s\n  test "t1" { name = "Test.Virus" }\n}\n' "$*"
}
reply_is() {  # VERDICT WANT
    local got
    got=$(mg_one "unix:$SM_SOCK" "$WD/m/$1")
    if [ "$got" = "$2" ]; then ok "$DESC: $1 -> $2"; else not_ok "$DESC: $1 -> '$got', want '$2'"; fi
}

# 1. defaults, with a reject_text of our own
DESC="reject_text"
SM_AV=$(av 'reject_text = "Refused: %v (%i/%e)"') SCANMILTER=$SCANMILTER_T sm_start "$WD/a"
reply_is infected 'reject|550 5.7.1 Refused: Test.Virus (av1/t1)'
reply_is unscannable 'reject|550 5.7.1 Message could not be scanned: Test.Virus'
DESC="on_error default"
reply_is error 'tempfail|451 4.3.0 Message could not be scanned, try again later'
reply_is clean 'accept|'
check "log line: verdict, virus, engine and the reply" \
    sm_log_has 'verdict=infected, virus=Test.Virus, engine=t1, reply=reject 550 5.7.1, '
check "stopped cleanly" sm_stop

# 2. action = tempfail with our own tempfailure code; unscannable_action = pass; on_error = reject
DESC="action = tempfail, tempfailure = 452"
SM_AV=$(av 'action = tempfail  tempfailure = 452  unscannable_action = pass  on_error = reject') \
    SCANMILTER=$SCANMILTER_T sm_start "$WD/b"
reply_is infected 'tempfail|452 4.3.0 Message held back: Test.Virus, try again later'
DESC="unscannable_action = pass"
reply_is unscannable 'accept|'
check "$DESC: tagged Unscannable (Test.Virus)" mt_send "unix:$SM_SOCK" hdr="X-Test-Verdict: unscannable" \
    want=accept hname=X-Virus-Status hval="Unscannable (Test.Virus)"
DESC="on_error = reject"
reply_is error 'reject|550 5.7.1 Message could not be scanned'
check "stopped cleanly" sm_stop

# 3. action = pass; unscannable_action = tempfail; on_error = accept
DESC="action = pass"
SM_AV=$(av 'action = pass  unscannable_action = tempfail  on_error = accept') \
    SCANMILTER=$SCANMILTER_T sm_start "$WD/c"
reply_is infected 'accept|'
check "$DESC: tagged Infected (Test.Virus)" mt_send "unix:$SM_SOCK" hdr="X-Test-Verdict: infected" \
    want=accept hname=X-Virus-Status hval="Infected (Test.Virus)"
DESC="unscannable_action = tempfail"
reply_is unscannable 'tempfail|451 4.3.0 Message held back: Test.Virus, try again later'
DESC="on_error = accept"
reply_is error 'accept|'
check "$DESC: tagged Unscanned (error: ...)" mt_send "unix:$SM_SOCK" hdr="X-Test-Verdict: error" \
    want=accept hname=X-Virus-Status hval="Unscanned (error: Test.Virus)"
check "$DESC: logged as an error, not clean" sm_log_has 'verdict=error, .*reply=accept'
check "stopped cleanly" sm_stop

# 4. unscannable_action = discard while action stays reject
DESC="unscannable_action = discard"
SM_AV=$(av 'unscannable_action = discard') SCANMILTER=$SCANMILTER_T sm_start "$WD/d"
reply_is unscannable 'discard|'
reply_is infected 'reject|550 5.7.1 Virus found: Test.Virus'
check "stopped cleanly" sm_stop

# 4b. a reject_text longer than SMTP allows on one line is cut to fit
DESC="long reject_text"
SM_AV=$(av "reject_text = \"Refused $(printf 'x%.0s' $(seq 600)) %v\"") \
    SCANMILTER=$SCANMILTER_T sm_start "$WD/e"
got=$(mg_one "unix:$SM_SOCK" "$WD/m/infected")
line=${got#reject|}
check "$DESC: rejected, the reply line within 512 octets with CRLF (${#line} + 2)" \
    bash -c "[ '${got%%|*}' = reject ] && [ ${#line} -le 510 ] && [ ${#line} -ge 400 ]"
check "stopped cleanly" sm_stop

# 5. `scanmilter scan` exit status: 1 for a rejection that is not a virus
printf '%s\ncontrol { listen = "unix:%s/ctl.sock" }\n' "$(av)" "$WD" >"$WD/scan.conf"
out=$("$SCANMILTER_T" scan -c "$WD/scan.conf" "$WD/m/unscannable/m.eml" 2>&1); rc=$?
printf '%s\n' "$out" | sed 's/^/#   /'
check "scan: unscannable mail rejected, exit 1 (rc $rc)" \
    bash -c "[ $rc = 1 ] && grep -q '  reply: 550 5.7.1 Message could not be scanned: Test.Virus' <<<'$out'"
"$SCANMILTER_T" scan -c "$WD/scan.conf" "$WD/m/clean/m.eml" >/dev/null 2>&1; rc=$?
check "scan: clean mail, exit 0 (rc $rc)" [ $rc = 0 ]
cat >"$WD/spam.conf" <<EOF
antispam "antispam1" {
  action = reject
  rules "rules1" { config_path = "$SM_TOP/etc/rules.xml"  schema_path = "$SM_TOP/etc/rules.rng" }
}
EOF
out=$("$SCANMILTER" scan -c "$WD/spam.conf" "$SM_TOP/t/data/rules/mail/spam-lottery.eml" 2>&1); rc=$?
printf '%s\n' "$out" | sed 's/^/#   /'
check "scan: spam rejected (no virus), exit 1 (rc $rc)" \
    bash -c "[ $rc = 1 ] && grep -q '  reply: 550 5.7.1 Message refused as spam' <<<'$out'"
"$SCANMILTER" scan -c "$WD/spam.conf" "$SM_TOP/t/data/rules/mail/ham.eml" >/dev/null 2>&1; rc=$?
check "scan: ham, exit 0 (rc $rc)" [ $rc = 0 ]
finish
