#!/usr/bin/env bash
# The metrics port on a filter host that a Prometheus server elsewhere
# scrapes, against the real daemon:
#  - `scanmilter -t`, the start and a reload refuse a listen address beyond
#    loopback without an allow list, naming the file, the line and the
#    option (checked with 0.0.0.0, [::] and 192.0.2.1: nothing is bound);
#    with one they accept it; a bad or empty allow list is refused too;
#  - with allow = a prefix, a client from inside it is served and one from
#    outside closed at accept (clients bound to other 127/8 sources),
#    counted in scanmilter_metrics_denied_total and logged once per
#    interval; a reload changes who may scrape at once, and a client it
#    removed stays closed while a blocking reload has no configuration
#    current; IPv6 clients match IPv6 entries only, and an IPv4 client
#    of an IPv6 socket IPv4 ones only;
#  - what the fleet compares across hosts: scanmilter_signature_version and
#    _age_seconds per engine (two fake clamd farms on other versions), and
#    scanmilter_replies_total{reply="strip"} beside accept.
set -u
. "$(dirname "$0")/../lib/scanmilter.sh"

sm_need_built "$MILTERGEN" "$CTL"
command -v curl >/dev/null || fail "curl is missing (make deps)"

plan 50
WD=$(mktemp -d /tmp/sm-mfleet.XXXXXX)
FAKE_PIDS=
trap 'sm_stop; for p in $FAKE_PIDS; do kill "$p" 2>/dev/null; done; rm -rf "$WD"' EXIT
PORT=$(pick_port)
quiet() { "$@" >/dev/null 2>&1; }
ctl() { "$CTL" -s "unix:$SM_CTL" "$@"; }
# HTTP status of a scrape from source address SRC ("000": no answer)
code_from() {  # SRC [HOST]
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 --interface "$1" \
        "http://${2:-127.0.0.1}:$PORT/metrics"
}
scrape_from() {  # SRC FILE
    curl -sf --max-time 5 --interface "$1" "http://127.0.0.1:$PORT/metrics" >"$2"
}
metric() {  # FILE SERIES -> value
    awk -v k="$2" '$1 == k { print $2 }' "$1"
}

# 1. the config check: nothing is bound by -t
tcheck() {  # NAME METRICS_SCOPE -> -t's exit status; its stderr in $WD/NAME.err
    sm_write_conf "$WD/t" "$2" >"$WD/$1.conf"
    "$SCANMILTER" -t -c "$WD/$1.conf" >/dev/null 2>"$WD/$1.err"
}
line_of() { grep -nF "$2" "$WD/$1.conf" | head -1 | cut -d: -f1; }
mkdir -p "$WD/t/run" "$WD/t/tmp"
for spec in '0.0.0.0:9100' '192.0.2.1:9100' '[::]:9100'; do
    name=nolist$(tr -dc '0-9' <<<"$spec")
    tcheck "$name" "metrics {
  max_connections = 4
  listen = \"$spec\"
}"; rc=$?
    host=${spec%:*}; host=${host#[}; host=${host%]}
    check "-t refuses listen = $spec without allow, with file, line and option" \
        bash -c '[ "$1" != 0 ] && grep -qF "$2:$3: option '"'listen'"': $4 is not a loopback address" "$5"' \
        _ "$rc" "$WD/$name.conf" "$(line_of "$name" "listen = \"$spec\"")" "$host" "$WD/$name.err"
done
sed "s/^/#   /" "$WD/nolist00009100.err"
tcheck any4 'metrics {
  listen = "0.0.0.0:9100"
  allow = "192.0.2.10, 198.51.100.0/24"
}'
check "-t accepts listen = 0.0.0.0:9100 with an IPv4 allow list" [ $? = 0 ]
tcheck any6 'metrics { listen = "[::]:9100"  allow = "2001:db8::/32 192.0.2.10" }'
check "-t accepts listen = [::]:9100 with an IPv6 and IPv4 allow list" [ $? = 0 ]
tcheck lo5 'metrics { listen = "127.0.0.5:9100" }'
check "-t accepts any 127/8 address without a list (loopback)" [ $? = 0 ]
tcheck badnet 'metrics {
  listen = "127.0.0.1:9100"
  allow = "10.0.0.0/33"
}'; rc=$?
check "-t refuses a bad allow entry with file, line and option" bash -c \
    '[ "$1" != 0 ] && grep -qF "$2:$3: option '"'allow'"': '"'10.0.0.0/33'"' is not an address" "$4"' \
    _ "$rc" "$WD/badnet.conf" "$(line_of badnet 'allow = ')" "$WD/badnet.err"
tcheck empty 'metrics { listen = "0.0.0.0:9100"  allow = "" }'; rc=$?
check "-t refuses an empty allow list" bash -c \
    '[ "$1" != 0 ] && grep -q "option '"'allow'"': names no address" "$2"' _ "$rc" "$WD/empty.err"
tcheck name 'metrics { listen = "metrics.example:9100"  allow = "192.0.2.10" }'; rc=$?
check "-t refuses a host name (numeric addresses only)" bash -c \
    '[ "$1" != 0 ] && grep -q "option '"'listen'"': expected ADDRESS:PORT" "$2"' _ "$rc" "$WD/name.err"
# from a drop-in file: the error names that file
mkdir -p "$WD/conf.d"
printf 'metrics {\n  listen = "0.0.0.0:9100"\n}\n' >"$WD/conf.d/metrics.conf"
tcheck dropin "include \"$WD/conf.d/*.conf\""; rc=$?
check "-t names the drop-in file and its line" bash -c \
    '[ "$1" != 0 ] && grep -qF "$2:2: option '"'listen'"': 0.0.0.0 is not a loopback address" "$3"' \
    _ "$rc" "$WD/conf.d/metrics.conf" "$WD/dropin.err"

# 2. the start: refused before anything is bound
sm_write_conf "$WD/b" "metrics { listen = \"0.0.0.0:$PORT\" }" >"$WD/b.conf"
mkdir -p "$WD/b/run" "$WD/b/tmp"
timeout 20 "$SCANMILTER" -f -c "$WD/b.conf" 2>"$WD/b.log"; rc=$?
check "start refuses listen = 0.0.0.0 without allow, with file, line and option" bash -c \
    '[ "$1" != 0 ] && grep -qF "$2:$3: option '"'listen'"': 0.0.0.0 is not a loopback address" "$4"' \
    _ "$rc" "$WD/b.conf" "$(grep -n 'listen = "0.0.0.0' "$WD/b.conf" | cut -d: -f1)" "$WD/b.log"
check "... and never opened the milter socket" [ ! -e "$WD/b/run/scanmilter.sock" ]

# 3. an allow list on a loopback listener
sm_start "$WD/a" "control {
  listen = \"unix:$WD/a/run/control.sock\"
  reload_interval = 0
}
metrics {
  listen = \"127.0.0.1:$PORT\"
  allow = \"127.0.0.2/31\"
}"
served_from() { [ "$(code_from "$1")" = 200 ]; }
check "metrics listener up" wait_until 10 served_from 127.0.0.2
check "log names the allow list" sm_log_has "metrics on http://127.0.0.1:$PORT/metrics for 127.0.0.2/31"
check "a client from 127.0.0.2 (inside 127.0.0.2/31) is served" [ "$(code_from 127.0.0.2)" = 200 ]
check "a client from 127.0.0.3 (inside) is served" [ "$(code_from 127.0.0.3)" = 200 ]
denied=0
for src in 127.0.0.1 127.0.0.4 127.0.0.1 127.0.0.1 127.0.0.4; do
    [ "$(code_from "$src")" = 000 ] && denied=$((denied + 1))
done
check "clients from 127.0.0.1 and 127.0.0.4 (outside) get no answer: 5 of 5 closed" [ "$denied" = 5 ]
scrape_from 127.0.0.2 "$WD/m1.txt"
grep denied "$WD/m1.txt" | sed 's/^/#   /'
check "scanmilter_metrics_denied_total counts the 5" [ "$(metric "$WD/m1.txt" scanmilter_metrics_denied_total)" = 5 ]
check "the refusal is logged with the client's address" \
    sm_log_has 'metrics: closed a connection from 127.0.0.1, not in allow; 1 so far'
check "... once for the 5 within the log interval" \
    [ "$(grep -c 'metrics: closed a connection from' "$SM_LOG")" = 1 ]
check "the console still answers" quiet ctl version

# 4. a reload changes who may scrape, at once; a bad one is refused
sed -i 's|allow = "127.0.0.2/31"|allow = "127.0.0.1, 127.0.0.4"|' "$SM_CONF"
check "reload with another allow list" quiet ctl reload
check "after it 127.0.0.1 is served" [ "$(code_from 127.0.0.1)" = 200 ]
check "... and 127.0.0.4" [ "$(code_from 127.0.0.4)" = 200 ]
check "... and 127.0.0.2 no longer" [ "$(code_from 127.0.0.2)" = 000 ]
cp "$SM_CONF" "$WD/good.conf"
sed -i "s|listen = \"127.0.0.1:$PORT\"|listen = \"0.0.0.0:$PORT\"|; /allow = /d" "$SM_CONF"
ctl reload >/dev/null 2>"$WD/reload.err"; rc=$?
check "reload to 0.0.0.0 without allow: refused with file, line and option" bash -c \
    '[ "$1" = 1 ] && grep -qF "$2:$3: option '"'listen'"': 0.0.0.0 is not a loopback address" "$4"' \
    _ "$rc" "$SM_CONF" "$(grep -n "listen = \"0.0.0.0" "$SM_CONF" | cut -d: -f1)" "$WD/reload.err"
check "... the running list stays (127.0.0.2 still closed)" [ "$(code_from 127.0.0.2)" = 000 ]
cp "$WD/good.conf" "$SM_CONF"
check "stopped cleanly" sm_stop

# 4b. while a blocking reload has no configuration current, a client an
# earlier reload removed is not served again by the list of the start
# (the test engine takes 4 s to load: the window)
SM_PLAIN=$SCANMILTER SCANMILTER=$SCANMILTER_TEST
sm_start "$WD/e" "control {
  listen = \"unix:$WD/e/run/control.sock\"
  reload_interval = 0
}
metrics {
  listen = \"127.0.0.1:$PORT\"
  allow = \"127.0.0.2\"
}"
SCANMILTER=$SM_PLAIN
check "blocking: 127.0.0.2 served at start" wait_until 10 served_from 127.0.0.2
sed -i 's|allow = "127.0.0.2"|allow = "127.0.0.1"|' "$SM_CONF"
quiet ctl reload
check "blocking: after a reload 127.0.0.2 is closed" [ "$(code_from 127.0.0.2)" = 000 ]
SM_MILTER_EXTRA='reload_mode = blocking' SM_AV="antivirus \"antivirus1\" {
  test \"slow1\" { create_delay = 4s }
}" sm_write_conf "$WD/e" "$(sed -n '/^control {/,$p' "$SM_CONF" | sed '/^control { listen/d')" >"$WD/e/blocking.conf"
cp "$WD/e/blocking.conf" "$SM_CONF"
ctl reload >/dev/null 2>&1 &
RELOAD_PID=$!
wait_until 10 sm_log_has 'reload \(scanmilterctl\): reading' && sleep 1
during=$(code_from 127.0.0.2)
kill -0 "$RELOAD_PID" 2>/dev/null; inside=$?
check "blocking: the reload was still loading (the window)" [ "$inside" = 0 ]
check "blocking: in it 127.0.0.2, removed by the reload before, is closed" [ "$during" = 000 ]
wait "$RELOAD_PID"
check "blocking: after it 127.0.0.1 is served" [ "$(code_from 127.0.0.1)" = 200 ]
check "stopped cleanly (blocking)" sm_stop

# 5. IPv6: a v6 client matches v6 entries only
if have_ipv6_loopback; then
    sm_start "$WD/c" "metrics {
  listen = \"[::1]:$PORT\"
  allow = \"127.0.0.0/8\"
}"
    check "IPv6: ::1 is not in 127.0.0.0/8: closed" [ "$(code_from ::1 '[::1]')" = 000 ]
    sed -i 's|allow = "127.0.0.0/8"|allow = "127.0.0.0/8 ::1/128"|' "$SM_CONF"
    quiet ctl reload
    check "IPv6: with ::1/128 added it is served" [ "$(code_from ::1 '[::1]')" = 200 ]
    check "stopped cleanly (IPv6)" sm_stop
    # an IPv4 client of an IPv6 socket (::ffff:127.0.0.2) is IPv4: an
    # IPv6 range, even ::/0, does not let it in
    sm_start "$WD/g" "metrics {
  listen = \"[::ffff:127.0.0.1]:$PORT\"
  allow = \"::/0\"
}"
    check "mapped: the IPv4 client 127.0.0.2 is not in ::/0: closed" \
        [ "$(code_from 127.0.0.2)" = 000 ]
    sed -i 's|allow = "::/0"|allow = "::/0 127.0.0.2"|' "$SM_CONF"
    quiet ctl reload
    check "mapped: with 127.0.0.2 added it is served" wait_until 5 served_from 127.0.0.2
    check "stopped cleanly (mapped)" sm_stop
else
    skip_n 6 "no IPv6 loopback"
fi

# 6. what a fleet compares: signature versions per engine, replies with strip.
# Two fake clamd farms answer VERSION with other versions (2 h and 50 h
# old) and every INSTREAM with OK; the clamav engine strips EICAR.
cat >"$WD/fakeclamd.py" <<'PY'
import os, socket, struct, sys, threading
path, version = sys.argv[1], sys.argv[2]
def serve(c):
    try:
        buf = b""
        while b"\0" not in buf:
            d = c.recv(4096)
            if not d:
                return
            buf += d
        cmd, rest = buf.split(b"\0", 1)
        if cmd == b"zPING":
            c.sendall(b"PONG\0")
        elif cmd == b"zVERSION":
            c.sendall(version.encode() + b"\0")
        elif cmd == b"zINSTREAM":
            while True:
                while len(rest) < 4:
                    d = c.recv(65536)
                    if not d:
                        return
                    rest += d
                n = struct.unpack(">I", rest[:4])[0]
                rest = rest[4:]
                if n == 0:
                    break
                while len(rest) < n:
                    d = c.recv(65536)
                    if not d:
                        return
                    rest += d
                rest = rest[n:]
            c.sendall(b"stream: OK\0")
    finally:
        c.close()
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(16)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
stamp() { LC_ALL=C date -u -d "@$(( $(date +%s) - $1 ))" '+%a %b %e %H:%M:%S %Y'; }
python3 "$WD/fakeclamd.py" "$WD/f1.sock" "ClamAV 1.4.6/27123/$(stamp 7200)" &
FAKE_PIDS="$FAKE_PIDS $!"
python3 "$WD/fakeclamd.py" "$WD/f2.sock" "ClamAV 1.4.6/27121/$(stamp 180000)" &
FAKE_PIDS="$FAKE_PIDS $!"
wait_for_socket "$WD/f1.sock" 10 && wait_for_socket "$WD/f2.sock" 10 || fail "fake clamd did not start"
SM_AV="antivirus \"antivirus1\" {
  mime_decompose = yes
  clamav \"clamav1\" { action = strip  database_directory = \"$SM_TOP/t/data/sigs\" }
  clamd \"farm1\" { servers = \"unix:$WD/f1.sock\" }
}
antivirus \"antivirus2\" {
  scanned_header = \"X-AV2-Scanned\"  status_header = \"X-AV2-Status\"
  clamd \"farm2\" { servers = \"unix:$WD/f2.sock\" }
}" sm_start "$WD/d" "metrics { listen = \"127.0.0.1:$PORT\" }"
mkdir -p "$WD/strip" "$WD/clean"
cp "$SM_TOP/t/data/mail/eicar-attach.eml" "$WD/strip/"
cp "$SM_TOP/t/data/mail/clean-plain.eml" "$WD/clean/"
timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 1 -t 30 -o "$WD/strip.csv" "$WD/strip" >/dev/null
timeout 60 "$MILTERGEN" -s "unix:$SM_SOCK" -c 1 -n 2 -t 30 "$WD/clean" >/dev/null
scrape_from 127.0.0.1 "$WD/m2.txt"
grep -E '^scanmilter_(replies_total|accepts_total|signature_)' "$WD/m2.txt" | sed 's/^/#   /'
check "the EICAR attachment was stripped" grep -qi 'strip' "$WD/strip.csv"
check "replies_total{reply=\"strip\"} 1" \
    [ "$(metric "$WD/m2.txt" 'scanmilter_replies_total{scanner="antivirus1",reply="strip"}')" = 1 ]
check "replies_total{reply=\"accept\"} 2 (the stripped one is not also an accept)" \
    [ "$(metric "$WD/m2.txt" 'scanmilter_replies_total{scanner="antivirus1",reply="accept"}')" = 2 ]
check "accepts_total counts the 2 accepted unchanged (the strip apart)" \
    [ "$(metric "$WD/m2.txt" 'scanmilter_accepts_total{scanner="antivirus1"}')" = 2 ]
check "signature_version of farm1: 27123" \
    [ "$(metric "$WD/m2.txt" 'scanmilter_signature_version{scanner="antivirus1",engine="farm1"}')" = 27123 ]
check "signature_version of farm2: 27121 (drift shows)" \
    [ "$(metric "$WD/m2.txt" 'scanmilter_signature_version{scanner="antivirus2",engine="farm2"}')" = 27121 ]
check "no signature_version for files without a version (clamav1: '3 signatures')" \
    bash -c '! grep -q "^scanmilter_signature_version{.*engine=\"clamav1\"" "$1"' _ "$WD/m2.txt"
check "signature_age_seconds per engine: about 2 h and 50 h" bash -c '
    a1=$(awk "\$1 == \"scanmilter_signature_age_seconds{scanner=\\\"antivirus1\\\",engine=\\\"farm1\\\"}\" { print \$2 }" "$1")
    a2=$(awk "\$1 == \"scanmilter_signature_age_seconds{scanner=\\\"antivirus2\\\",engine=\\\"farm2\\\"}\" { print \$2 }" "$1")
    [ -n "$a1" ] && [ -n "$a2" ] && [ "$a1" -ge 7200 ] && [ "$a1" -lt 7300 ] &&
    [ "$a2" -ge 180000 ] && [ "$a2" -lt 180100 ]' _ "$WD/m2.txt"
check "the exposition is well formed" python3 "$SM_TOP/t/lib/promcheck.py" "$WD/m2.txt"
check "stopped cleanly (farms)" sm_stop

finish
