#!/usr/bin/env bash
# The source tree's shape: no module (a .c file and its .h) includes a
# header of a module that includes one of its own back, directly or
# through others -- the modules form a layered graph, no cycles.  A
# module's private header (NAME_int.h) counts as part of NAME.
#
# And the console client stays a client: scanmilterctl links no engine
# and, reading a config that names a plug-in engine, never loads it (a
# plug-in whose constructor leaves a file behind leaves none); nothing but
# the generation loads a plug-in.
set -u
. "$(dirname "$0")/../lib/common.sh"
TOP=$(cd "$(dirname "$0")/../.." && pwd)

cycles=$(cd "$TOP" && python3 - <<'PY'
import os, re, sys
mods = {}                       # module name -> set of modules it includes
where = {}
for d, _, files in os.walk("src"):
    for f in files:
        if f.endswith((".c", ".h")):
            m = re.sub(r"_int$", "", f[:-2])
            where[m] = d
            deps = mods.setdefault(m, set())
            for line in open(os.path.join(d, f), errors="replace"):
                r = re.match(r'\s*#\s*include\s+"([^"/]+)\.h"', line)
                dep = r and re.sub(r"_int$", "", r.group(1))
                if dep and dep != m and dep != "config":
                    deps.add(dep)
for m in mods:
    mods[m] = {x for x in mods[m] if x in mods}
# Tarjan's strongly connected components: each of size > 1 is a cycle.
index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
    for w in sorted(mods[v]):
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1:
            out.append(" ".join(sorted(comp)))
sys.setrecursionlimit(10000)
for v in sorted(mods):
    if v not in index:
        visit(v)
print("\n".join(out))
PY
)
check "no include cycle between modules under src/${cycles:+ (cycles: $(printf '%s' "$cycles" | tr '\n' ';'))}" [ -z "$cycles" ]

# The parsed configuration is plain data: src/conf/ uses only itself and
# src/lib/, never what runs (pools, caches, engines live in a generation).
upward=$(cd "$TOP/src/conf" && for f in *.c *.h; do
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"/]*\)".*/\1/p' "$f" |
	while read -r h; do
		[ "$h" = config.h ] || [ -e "$h" ] || [ -e "../lib/$h" ] ||
		    printf '%s:%s ' "$f" "$h"
	done
done)
check "src/conf/ includes nothing above it${upward:+ ($upward)}" [ -z "$upward" ]

# Parsing checks a plug-in's path and records it; only a generation
# (src/pipeline/generation.c) loads code, as the service user.
loaders=$(cd "$TOP/src" && grep -rl 'dlopen *(' . | grep -vx './pipeline/generation.c' | tr '\n' ' ')
check "no dlopen() outside the generation${loaders:+ ($loaders)}" [ -z "$loaders" ]

# Engines see the daemon through include/scanmilter/engine.h only: a
# quoted include under engines/ names config.h or a file of the engine's
# own directory.
inward=$(cd "$TOP/engines" && for f in */*.c */*.h; do
	[ -e "$f" ] || continue
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
	while read -r h; do
		[ "$h" = config.h ] || [ -e "$(dirname "$f")/$h" ] ||
		    printf '%s:%s ' "$f" "$h"
	done
done)
check "engines/ include no daemon header but engine.h${inward:+ ($inward)}" [ -z "$inward" ]

CTL=${SCANMILTERCTL:-$TOP/build/src/scanmilterctl}
[ -x "$CTL" ] || fail "no $CTL (make all first)"
check "scanmilterctl links no libclamav" bash -c "! ldd '$CTL' | grep -q libclamav"
check "scanmilterctl links no libxml2" bash -c "! ldd '$CTL' | grep -q libxml2"

WD=$(mktemp -d /tmp/sm-layout.XXXXXX)
trap 'rm -rf "$WD"' EXIT
cat >"$WD/ctor.c" <<C
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void ran(void)
{
	close(open("$WD/constructor-ran", O_CREAT | O_WRONLY, 0600));
}
C
${CC:-cc} -shared -fPIC -o "$WD/ctor.so" "$WD/ctor.c" || fail "cannot build the plug-in"
cat >"$WD/scanmilter.conf" <<CONF
milter { file_base = "$WD/tmp" }
engine "ctor" { module = "$WD/ctor.so" }
antivirus "antivirus1" { ctor "c1" { some_option = 1 } }
ctor { other = 2 }
control { listen = "unix:$WD/control.sock" }
CONF
out=$("$CTL" -c "$WD/scanmilter.conf" version 2>&1); rc=$?
printf '%s\n' "$out" | sed 's/^/#   /'
check "scanmilterctl read the socket from the config (exit $rc: not running)" \
    bash -c "[ $rc -eq 3 ] && grep -q '$WD/control.sock' <<<\"\$1\"" _ "$out"
check "... and never ran the plug-in's code" [ ! -e "$WD/constructor-ran" ]
finish
