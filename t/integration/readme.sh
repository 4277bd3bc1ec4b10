#!/usr/bin/env bash
# The README's migration tables cannot rot: every scanmilter option that
# "Coming from Momentum" and "Coming from clamav-milter" name is one that
# `scanmilter options` lists (in the scope named, when one is), and the
# clamav-milter table covers every option the brief for it named.  The
# checker is shown to catch a misspelt option in a copy of the README.
# The reference fleet's scanmilter.conf ("Several filter hosts") passes
# `scanmilter -t`, and its metrics port beyond loopback does so only
# because of its allow list.
#
# How the tables name our options:
#  - clamav-milter (a Markdown table): in the scanmilter column each
#    `backticked` span is `SCOPE { OPT, OPT = VALUE }`, `SCOPE "NAME" { OPT }`,
#    `OPT` or `OPT = VALUE`; spans starting with "scanmilter", '-', '%' or
#    an upper-case letter, and `key=value` log fields, are not options
#    (commands, placeholders, headers, values); a value alone is written
#    without backticks;
#  - Momentum (an indented two-column block): a left-column name whose row
#    reads "the same" on the right, and every lower_case_name with an
#    underscore on the right.
set -u
. "$(dirname "$0")/../lib/common.sh"

TOP=$(cd "$(dirname "$0")/../.." && pwd)
SCANMILTER=${SCANMILTER:-$TOP/build/src/scanmilter}
[ -x "$SCANMILTER" ] || fail "no $SCANMILTER (make all first)"
plan 9
WD=$(mktemp -d /tmp/sm-readme.XXXXXX)
trap 'rm -rf "$WD"' EXIT

"$SCANMILTER" options >"$WD/options.tsv" || fail "scanmilter options failed"
cat >"$WD/check.py" <<'PY'
import re, sys

readme, options, which = sys.argv[1], sys.argv[2], sys.argv[3]
scopes = {}
for line in open(options):
    if line.startswith("#") or not line.strip():
        continue
    scope, opt = line.split("\t")[:2]
    scopes.setdefault(scope, set()).add(opt)
# what each scope accepts (conf.c binds these tables together)
own = {"milter", "message", "antivirus", "antispam", "ENGINE", "threadpool",
       "control", "metrics", "cache", "engine"}
accepts = {s: set(o) for s, o in scopes.items()}
accepts["milter"] |= scopes.get("message", set())
accepts["antivirus"] |= scopes.get("message", set()) | scopes.get("ENGINE", set())
accepts["antispam"] |= accepts["antivirus"]
for s in scopes:
    if s not in own:            # an engine: its own options and the common ones
        accepts[s] |= scopes.get("ENGINE", set())
every = set().union(*scopes.values())
text = open(readme).read().splitlines()
bad, named = [], 0

def section(title):
    i = text.index(title)
    j = i + 2
    while j < len(text) and not (j + 1 < len(text) and
                                 re.fullmatch(r"-{3,}", text[j + 1])):
        j += 1
    return text[i + 2:j]

def need(opt, scope, where):
    global named
    named += 1
    if scope is None:
        if opt not in every:
            bad.append(f"{where}: '{opt}' is no option of `scanmilter options`")
    elif scope not in accepts:
        bad.append(f"{where}: '{scope}' is no scope of `scanmilter options`")
    elif opt not in accepts[scope]:
        bad.append(f"{where}: '{opt}' is no option of scope '{scope}'")

def names_in(inner):
    for item in re.split(r"[,;]", inner):
        m = re.match(r"\s*([a-z][a-z0-9_]*)\s*(=.*)?$", item)
        if m:
            yield m.group(1)
        elif item.strip():
            yield "!" + item.strip()

if which == "clamav-milter":
    rows = [l for l in section("Coming from clamav-milter") if l.startswith("| ")]
    covered = set()
    for row in rows[1:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        if len(cells) != 2:
            bad.append(f"row with {len(cells)} cells: {row}")
            continue
        for n in re.split(r",\s*|\s+\(", cells[0]):
            covered.add(n.split()[0] if n.split() else n)
        for span in re.findall(r"`([^`]*)`", cells[1]):
            if re.match(r"(scanmilter|%|-|[A-Z<(])", span) or \
                    re.match(r"[a-z_]+=", span):    # a command, a log field
                continue
            m = re.fullmatch(r'([a-z]+)(?: "[^"]*")? \{ (.*) \}', span)
            if m:
                for o in names_in(m.group(2)):
                    if o.startswith("!"):
                        bad.append(f"{cells[0]}: cannot read '{o[1:]}' in `{span}`")
                    else:
                        need(o, m.group(1), cells[0])
                continue
            m = re.fullmatch(r"([a-z][a-z0-9_]*)(?: = .*)?", span)
            if m:
                need(m.group(1), None, cells[0])
            elif re.match(r"[a-z]", span) and not re.search(r"[:/]", span):
                bad.append(f"{cells[0]}: cannot read `{span}`")
    wanted = """MilterSocket MilterSocketGroup MilterSocketMode FixStaleSocket User
        ReadTimeout Foreground PidFile TemporaryDirectory ClamdSocket LocalNet
        Whitelist SkipAuthenticated MaxFileSize OnClean OnInfected OnFail
        RejectMsg AddHeader ReportHostname VirusAction LogFile LogSyslog
        LogFacility LogInfected LogClean SupportMultipleRecipients Chroot
        LogVerbose LogTime LogFileUnlock LogFileMaxSize""".split()
    for w in wanted:
        if w not in covered:
            bad.append(f"clamav-milter's {w} is not in the table")
elif which == "momentum":
    lines = section("Coming from Momentum")
    start = next(i for i, l in enumerate(lines) if re.match(r"    Momentum +scanmilter", l))
    col = lines[start].index("scanmilter")
    same = False
    for l in lines[start + 1:]:
        if not l.startswith("    "):
            break
        left, right = l[4:col].rstrip(), l[col:]
        if left and not left.startswith("  "):   # a new row
            same = right.startswith("the same")
        if same and left:
            for item in left.split(","):
                w = item.split()
                if w and re.fullmatch(r"[a-z][a-z0-9_]*", w[0]):
                    if w[0] not in every and w[0] not in scopes:
                        bad.append(f"Momentum '{w[0]}' reads 'the same' but is no option or scope")
                    named += 1
        for w in re.findall(r"(?<![\w.])([a-z][a-z0-9]*_[a-z0-9_]+)(?![\w])", right):
            need(w, None, f"Momentum row '{left.strip()}'")
for b in bad:
    print("#   " + b)
print(f"#   {which}: {named} option names checked")
sys.exit(1 if bad or named == 0 else 0)
PY
check_table() { python3 "$WD/check.py" "$1" "$WD/options.tsv" "$2"; }

check "clamav-milter table: every option named exists (and every clamav-milter option has a row)" \
    check_table "$TOP/README" clamav-milter
check "Momentum table: every option named exists" check_table "$TOP/README" momentum

# the checker catches rot: one option misspelt in each table
sed 's/`antivirus { skip_networks }`/`antivirus { skip_netwroks }`/' "$TOP/README" >"$WD/README.typo1"
check "the copy with skip_netwroks differs" bash -c "! cmp -s '$TOP/README' '$WD/README.typo1'"
check "... and the checker refuses it" bash -c "! python3 '$WD/check.py' '$WD/README.typo1' '$WD/options.tsv' clamav-milter"
sed 's/`milter { log_facility }`/`antivirus { log_facility }`/' "$TOP/README" >"$WD/README.typo2"
check "an option in the wrong scope is refused too" bash -c \
    "! cmp -s '$TOP/README' '$WD/README.typo2' && ! python3 '$WD/check.py' '$WD/README.typo2' '$WD/options.tsv' clamav-milter"
sed 's/^    bmiconfig_path                   config_path of/    bmiconfig_path                   config_pth of/' "$TOP/README" >"$WD/README.typo3"
check "the copy with config_pth differs" bash -c "! cmp -s '$TOP/README' '$WD/README.typo3'"
check "... and the Momentum checker refuses it" bash -c "! python3 '$WD/check.py' '$WD/README.typo3' '$WD/options.tsv' momentum"

# the reference fleet's config (its farm and Redis are not here: -t only
# warns about those)
awk '/^Several filter hosts/ { s = 1 } s && /^    antivirus "antivirus1" \{/ { f = 1 }
     f && /^$/ { exit } f { sub(/^    /, ""); print }' "$TOP/README" |
    sed 's|"…"|"secret"|; s|servers = "[^"]*"|servers = "unix:'"$WD"'/no-clamd.sock"|' >"$WD/fleet.conf"
sed 's/^/#   /' "$WD/fleet.conf"
check "the reference fleet's config passes scanmilter -t" bash -c \
    "grep -q '^metrics' '$WD/fleet.conf' && '$SCANMILTER' -t -c '$WD/fleet.conf' >/dev/null 2>&1"
sed '/^  allow = /d' "$WD/fleet.conf" >"$WD/fleet-noallow.conf"
check "... and without its allow list its metrics listen is refused" bash -c \
    '! "$1" -t -c "$2" >"$3" 2>&1 && grep -q "option .listen.: 0.0.0.0 is not a loopback address" "$3"' \
    _ "$SCANMILTER" "$WD/fleet-noallow.conf" "$WD/noallow.err"

finish
