#!/usr/bin/env python3
"""prop.py - the property of MIME decomposition, on generated messages:

    decomposition never catches less than whole-message scanning.

    prop.py --scanmilter BIN --sigs DIR [--mimedump BIN] [--count N]
            [--seed S] [--keep DIR] [--show N]

Generates N messages (t/mime-diff/mimegen.py: mutated MIME syntax, every
leaf any reading makes carrying an encoded EICAR) and runs them, many files
per process, through `scanmilter scan` with three configurations of one
clamav engine on the test signatures:

    whole    mime_decompose = no
    dec      mime_decompose = yes
    bypass   mime_decompose = yes, detect_bypass = yes
    wholebypass  mime_decompose = no, detect_bypass = yes (the parser for its
                 findings only)

A message is live when some reader finds its EICAR: Python's email package
(a decoded leaf holds it), libclamav reading the message whole, or our
decomposition.  Asserts, and counts each failure:

    1. bypass refuses every live message (not clean);
    2. dec is never clean where whole is infected;
    3. a tame message (only legal syntax) is refused by dec alone, and
       the parser (t/mime-diff/mimedump -a, with --mimedump) reports no
       anomaly for it: it is neither flagged nor scanned whole;
    4. wholebypass refuses every message whole refuses or the parser
       reports an anomaly for (with --mimedump).

Prints the first --show failures of each kind with their generator recipe,
and a last line "mimeprop: ..." with the counts.  Exit 0 only if nothing
failed.  Python 3 standard library only (and the scanmilter binary).
"""

import argparse
import email
import email.policy
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mimegen  # noqa: E402

CONFIGS = {
    "whole": "mime_decompose = no",
    "dec": "mime_decompose = yes",
    "bypass": "mime_decompose = yes  detect_bypass = yes",
    "wholebypass": "mime_decompose = no  detect_bypass = yes",
}
LINE = re.compile(r"^(\S+\.eml): (clean|infected|unscannable|error)(?: \((.*)\))?$")


def python_sees(data):
    """Does Python's email find the EICAR in a decoded leaf?"""
    try:
        msg = email.message_from_bytes(data, policy=email.policy.default)
        for part in msg.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and mimegen.EICAR in payload:
                return True
    except Exception:  # a reader that gives up sees nothing
        return False
    return False


def scan_all(binary, conf, files, chunk=1000):
    """{file: (verdict, name)} from `scanmilter scan`, chunk files a process."""
    out = {}
    for i in range(0, len(files), chunk):
        p = subprocess.run([binary, "scan", "-c", conf] + files[i:i + chunk],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        for line in p.stdout.decode("utf-8", "replace").splitlines():
            m = LINE.match(line)
            if m:
                out[m.group(1)] = (m.group(2), m.group(3) or "")
    return out


def anomalies(mimedump, files, chunk=1000):
    """{file: anomaly text} as mimedump -a reports it ("none" if none)."""
    out = {}
    for i in range(0, len(files), chunk):
        p = subprocess.run([mimedump, "-a"] + files[i:i + chunk],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for line in p.stderr.decode("utf-8", "replace").splitlines():
            name, _, what = line.partition(": ")
            out[name] = what
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scanmilter", required=True)
    ap.add_argument("--sigs", required=True)
    ap.add_argument("--mimedump")
    ap.add_argument("--count", type=int, default=2500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", help="write the messages here and keep them")
    ap.add_argument("--show", type=int, default=5)
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="sm-mimeprop.")
    try:
        work = a.keep or os.path.join(tmp, "msg")
        os.makedirs(work, exist_ok=True)
        os.makedirs(os.path.join(tmp, "spool"))
        files, recipe, data = [], {}, {}
        for i in range(a.count):
            d, r = mimegen.generate(a.seed, i)
            path = os.path.join(work, "m%05d.eml" % i)
            with open(path, "wb") as f:
                f.write(d)
            files.append(path)
            recipe[path] = r
            data[path] = d
        verdicts = {}
        for name, extra in CONFIGS.items():
            conf = os.path.join(tmp, name + ".conf")
            with open(conf, "w") as f:
                f.write('milter { file_base = "%s" }\n'
                        'antivirus "antivirus1" {\n  %s\n'
                        '  clamav "clamav1" { database_directory = "%s" }\n}\n'
                        % (os.path.join(tmp, "spool"), extra,
                           os.path.abspath(a.sigs)))
            verdicts[name] = scan_all(a.scanmilter, conf, files)
        found = anomalies(a.mimedump, files) if a.mimedump else {}
        fails = {"bypass-missed": [], "dec-weaker": [], "tame-missed": [],
                 "tame-flagged": [], "wholebypass-missed": [],
                 "no-verdict": []}
        live = py = whole_inf = tame = flagged = 0
        for path in files:
            v = {k: verdicts[k].get(path) for k in CONFIGS}
            if None in v.values():
                fails["no-verdict"].append((path, v))
                continue
            p = python_sees(data[path])
            py += p
            w = v["whole"][0] == "infected"
            whole_inf += w
            is_live = p or w or v["dec"][0] == "infected"
            live += is_live
            is_flag = v["bypass"][1].startswith("Heuristics.Bypass.")
            flagged += is_flag
            if is_live and v["bypass"][0] == "clean":
                fails["bypass-missed"].append((path, v))
            if w and v["dec"][0] == "clean":
                fails["dec-weaker"].append((path, v))
            if (w or found.get(path, "none") != "none") and \
                    v["wholebypass"][0] == "clean":
                fails["wholebypass-missed"].append((path, v))
            if recipe[path].split()[2:3] == ["tame"]:
                tame += 1
                if v["dec"][0] != "infected":
                    fails["tame-missed"].append((path, v))
                if is_flag or found.get(path, "none") != "none":
                    fails["tame-flagged"].append((path, v))
        for kind, lst in fails.items():
            for path, v in lst[:a.show]:
                print("FAIL %s: %s  %s" % (kind, os.path.basename(path), "  ".join(
                    "%s=%s" % (k, v[k][0] + (" (%s)" % v[k][1] if v[k] and v[k][1] else ""))
                    if v[k] else "%s=none" % k for k in CONFIGS)))
                print("  recipe: %s" % recipe[path])
                if path in found:
                    print("  parser: %s" % found[path])
        print("mimeprop: %d messages (seed %d), %d live (Python sees %d, whole "
              "infected %d), %d flagged as bypass, %d tame; failures: %s" % (
                  a.count, a.seed, live, py, whole_inf, flagged, tame,
                  ", ".join("%s %d" % (k, len(l)) for k, l in fails.items())))
        return 1 if any(fails.values()) else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
