#!/usr/bin/env bash
# run.sh TARGET SECONDS [JOBS] - builds a libFuzzer target with clang
# (-fsanitize=fuzzer,address,undefined) and runs it for SECONDS of wall
# time on its corpus.  Exits non-zero if the fuzzer finds a crash, a leak,
# undefined behaviour or a timeout (the input is left in t/fuzz/out/).
# JOBS > 1 runs that many fuzzing processes (-fork).
#   TARGET  mime | conf | rules | html | ctl | milter
# Seeds: mime: t/data/mail, t/data/mime/{good,bad}; conf: etc/*.conf and
# the configurations in t/; rules: etc/rules.xml, t/data/rules/*.xml and
# the mail of t/data/rules/mail (encoded subjects, charsets, entities; each
# input is read both as a rule file and as a message), with the dictionary
# t/fuzz/rules.dict; html: the mail of t/data/rules
# and t/data/mail (with t/fuzz/html.dict); milter: the mail of
# t/data/mail as SMTP sessions (t/fuzz/milter-seeds.py).  The growing
# corpus is kept in t/fuzz/corpus-TARGET/ (ignored by git); the binary goes to t/fuzz/out/.
set -euo pipefail
target=${1:?usage: run.sh mime|conf|rules|html|ctl|milter SECONDS [JOBS]}
secs=${2:?usage: run.sh mime|conf|rules|html|ctl|milter SECONDS [JOBS]}
jobs=${3:-1}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cc=${CC_FUZZ:-clang}
out=$here/out
corpus=$here/corpus-$target
mkdir -p "$out" "$corpus"

# config.h comes from the configured build; any will do.
cfg=
for d in "$top/build" "$top/build-asan"; do
	[ -f "$d/config.h" ] && { cfg=$d; break; }
done
[ -n "$cfg" ] || { echo "run.sh: configure first (no build/config.h)" >&2; exit 2; }

seed_glob=('*.eml' '*.conf')

# library_sources: adds to srcs the libscan (and libmime) sources as
# Makefile.am lists them (those that exist: generated ones are added by
# the target)
library_sources() {
	local f
	while read -r f; do
		[ -f "$top/$f" ] && srcs+=("$top/$f")
	done < <(awk '
	    /^(src_lib(scan|mime)_a_SOURCES|[A-Z]+_SOURCES)[ \t]*\+?=/ { on = 1 }
	    on { for (i = 1; i <= NF; i++) if ($i ~ /\.c$/ && !seen[$i]++) print $i
		 if ($0 !~ /\\$/) on = 0 }' "$top/Makefile.am")
	return 0
}
flags=(-g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=undefined -I"$cfg" -I"$top/include" -I"$top/src/lib" -I"$top/src/conf" -I"$top/src/mime" -I"$top/src/pipeline")
case $target in
mime)
	srcs=("$here/fuzz_mime.c" "$top"/src/mime/*.c "$top"/src/lib/util.c
		"$top"/src/lib/log.c "$top"/src/lib/recycle.c)
	libs=()
	seeds=("$top/t/data/mail" "$top/t/data/mime/good" "$top/t/data/mime/bad")
	;;
conf)
	# the libscan (and libmime) sources as Makefile.am lists them, and
	# the list of built-in engines
	srcs=("$here/fuzz_conf.c" "$top/src/pipeline/engines_builtin.c")
	library_sources
	flags+=($(pkg-config --cflags libxml-2.0 hiredis))
	libs=(-lclamav -lcrypto $(pkg-config --libs libxml-2.0 hiredis) -ldl -pthread)
	seeds=("$top/etc")
	;;
ctl)
	# the console's commands over the same library as conf, running
	srcs=("$here/fuzz_ctl.c" "$top/src/pipeline/engines_builtin.c"
		"$top/src/console/ctlcmd.c" "$top/src/pipeline/runtime.c"
		"$top/src/mta/notify.c")
	library_sources
	flags+=(-I"$top/src/console" -I"$top/src/mta" $(pkg-config --cflags libxml-2.0 hiredis)
		-DFUZZ_RULES="\"$top/etc/rules.xml\"")
	libs=(-lclamav -lcrypto $(pkg-config --libs libxml-2.0 hiredis) -levent
		-ldl -pthread)
	seeds=("$here/ctl-seeds")
	seed_glob=('*.ctl' '*.ctl')
	;;
milter)
	# the milter callbacks over the same library, with a fake libmilter
	# and a fake engine (fuzz_milter.c); no libmilter linked
	srcs=("$here/fuzz_milter.c" "$here/fake_milter.c"
		"$top/src/mta/milter.c" "$top/src/pipeline/runtime.c"
		"$top/src/mta/notify.c")
	library_sources
	flags+=(-I"$here" -I"$top/src/mta" $(pkg-config --cflags libxml-2.0 hiredis))
	libs=(-lclamav -lcrypto $(pkg-config --libs libxml-2.0 hiredis) -ldl -pthread)
	seeds=()	# generated below, from the test mail
	;;
rules)
	srcs=("$here/fuzz_rules.c" "$top"/engines/rules/*.c "$top"/src/mime/*.c
		"$top"/src/pipeline/parts.c "$top"/src/pipeline/wirebuf.c
		"$top"/src/lib/util.c "$top"/src/lib/log.c "$top"/src/lib/recycle.c)
	flags+=(-I"$top/engines/rules" $(pkg-config --cflags libxml-2.0)
		-DRULES_SCHEMA="\"$top/etc/rules.rng\"" -DRULES_FILE="\"$top/etc/rules.xml\"")
	libs=($(pkg-config --libs libxml-2.0) -lcrypto -pthread)
	seeds=("$top/etc" "$top/t/data/rules")
	seed_glob=('*.xml' '*.eml')	# rule files; mail of t/data/rules/mail
	;;
html)
	srcs=("$here/fuzz_html.c" "$top/engines/rules/html.c"
		"$top/engines/rules/rules_util.c" "$top"/src/lib/util.c
		"$top"/src/lib/log.c)
	flags+=(-I"$top/engines/rules")
	libs=()
	seeds=("$top/t/data/rules/mail" "$top/t/data/mail")
	;;
*)
	echo "run.sh: unknown target $target (mime, conf, rules, html, ctl, milter)" >&2
	exit 2
	;;
esac
# the rules schema built into the binary is a generated source
case $target in conf|rules|ctl|milter)
	make -s -C "$cfg" engines/rules/schema_rng.c
	srcs+=("$cfg/engines/rules/schema_rng.c") ;;
esac
bin=$out/fuzz_$target
"$cc" "${flags[@]}" "${srcs[@]}" "${libs[@]}" -o "$bin"

# seed the corpus once
if [ -z "$(ls -A "$corpus")" ] && [ "$target" = milter ]; then
	python3 "$here/milter-seeds.py" "$corpus" "$top"/t/data/mail/*.eml
elif [ -z "$(ls -A "$corpus")" ]; then
	for d in "${seeds[@]}"; do
		[ -d "$d" ] || continue
		find "$d" -type f \( -name "${seed_glob[0]}" -o \
		    -name "${seed_glob[1]}" \) -exec cp {} "$corpus/" \;
	done
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$out"
# small inputs run fast and reach the same states; FUZZ_MAX_LEN to change
args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048
	-max_len="${FUZZ_MAX_LEN:-65536}" -print_final_stats=1
	-artifact_prefix="$out/")
[ -f "$here/$target.dict" ] && args+=(-dict="$here/$target.dict")
if [ "$jobs" -gt 1 ]; then
	args+=(-fork="$jobs" -ignore_crashes=0)
fi
set +e
# (no "|| true" here: under pipefail it would run and reset PIPESTATUS,
# hiding the fuzzer's failure)
"$bin" "${args[@]}" "$corpus" 2>&1 | tee "$out/fuzz_$target.log" | \
    grep -E 'ERROR|SUMMARY|stat::|Done|DONE|crash-|leak-|timeout-|oom-|#[0-9]+.*(pulse|DONE)'
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
	echo "run.sh: fuzz_$target failed (exit $rc); see $out/fuzz_$target.log" >&2
	exit 1
fi
echo "run.sh: fuzz_$target: no crash in ${secs}s"
