#!/bin/sh
# clamav-milter.sh - run Debian's clamav-milter + clamd privately, as the
# baseline scanmilter is measured against: both in the foreground (in the
# background of this shell), unix sockets and temporary files under WORKDIR,
# signatures from DBDIR, OnInfected Reject, limits large enough for 10 MB mails.
#
#   clamav-milter.sh start WORKDIR DBDIR   # prints the milter socket (unix:WORKDIR/milter.sock)
#   clamav-milter.sh stop  WORKDIR
#
# Put WORKDIR on the same file system as the scanmilter/rawscan temporary
# directory being compared (libclamav writes temporary files for every scan;
# tmpfs vs disk changes the rate). Needs packages clamav-daemon, clamav-milter.
# Every wait is bounded; stop kills only the pids this script recorded.
#
# clamd's libclamav keeps a cache of clean files (MD5 of each scanned object,
# whole messages included), so a message sent again is answered from it:
# restart (stop + start) between runs, or set CLAMD_DISABLE_CACHE=1.
set -eu

CLAMD=${CLAMD:-/usr/sbin/clamd}
MILTER=${CLAMAV_MILTER:-/usr/sbin/clamav-milter}
START_TIMEOUT=${START_TIMEOUT:-120}   # seconds for clamd to load the database

usage() {
	echo "usage: $0 start WORKDIR DBDIR | stop WORKDIR" >&2
	exit 2
}

write_clamd_conf() {
	cat > "$W/clamd.conf" <<CONF
LocalSocket $W/clamd.sock
FixStaleSocket yes
Foreground yes
PidFile $W/clamd.pid
LogFile $W/clamd.log
LogTime yes
TemporaryDirectory $W/tmp-clamd
DatabaseDirectory $DB
MaxThreads 12
MaxQueue 100
ReadTimeout 180
CommandReadTimeout 30
ScanMail yes
ScanArchive yes
HeuristicAlerts yes
MaxScanTime 120000
MaxFileSize 100M
MaxScanSize 400M
StreamMaxLength 100M
SelfCheck 0
Bytecode yes
DisableCache $( [ "${CLAMD_DISABLE_CACHE:-0}" = 1 ] && echo yes || echo no )
CONF
}

write_milter_conf() {
	cat > "$W/clamav-milter.conf" <<CONF
MilterSocket unix:$W/milter.sock
FixStaleSocket yes
MilterSocketMode 660
Foreground yes
PidFile $W/clamav-milter.pid
ClamdSocket unix:$W/clamd.sock
TemporaryDirectory $W/tmp-milter
OnClean Accept
OnInfected Reject
OnFail Defer
AddHeader Replace
MaxFileSize 100M
ReadTimeout 120
LogFile $W/clamav-milter.log
LogTime yes
LogInfected Basic
CONF
}

# wait_for FILE SECONDS PID: until the socket FILE exists, or fail.
wait_for() {
	i=0
	while [ ! -S "$1" ]; do
		if ! kill -0 "$3" 2>/dev/null; then
			echo "$0: process $3 died; see $W/*.log" >&2
			return 1
		fi
		i=$((i + 1))
		if [ "$i" -gt $(($2 * 10)) ]; then
			echo "$0: $1 did not appear within $2 s" >&2
			return 1
		fi
		sleep 0.1
	done
}

start() {
	[ -d "$DB" ] || { echo "$0: no database directory $DB" >&2; exit 1; }
	mkdir -p "$W/tmp-clamd" "$W/tmp-milter"
	DB=$(cd "$DB" && pwd)
	write_clamd_conf
	write_milter_conf
	"$CLAMD" -c "$W/clamd.conf" >"$W/clamd.out" 2>&1 &
	echo $! > "$W/clamd.bgpid"
	wait_for "$W/clamd.sock" "$START_TIMEOUT" "$(cat "$W/clamd.bgpid")"
	"$MILTER" -c "$W/clamav-milter.conf" >"$W/clamav-milter.out" 2>&1 &
	echo $! > "$W/clamav-milter.bgpid"
	wait_for "$W/milter.sock" 30 "$(cat "$W/clamav-milter.bgpid")"
	echo "unix:$W/milter.sock"
}

# stop_one NAME: TERM the recorded pid, wait up to 10 s, then KILL it.
stop_one() {
	f="$W/$1.bgpid"
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	if kill "$pid" 2>/dev/null; then
		i=0
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
}

stop() {
	stop_one clamav-milter
	stop_one clamd
	rm -f "$W/milter.sock" "$W/clamd.sock"
}

[ $# -ge 2 ] || usage
CMD=$1
mkdir -p "$2"
W=$(cd "$2" && pwd)
case "$CMD" in
start) [ $# -eq 3 ] || usage; DB=$3; start ;;
stop) [ $# -eq 2 ] || usage; stop ;;
*) usage ;;
esac
