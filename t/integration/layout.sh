#!/usr/bin/env bash
# The source tree's shape: no module (a .c file and its .h) includes a
# header of a module that includes one of its own back, directly or
# through others -- the modules form a layered graph, no cycles.  A
# module's private header (NAME_int.h) counts as part of NAME.
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
finish
