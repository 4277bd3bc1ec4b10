#!/usr/bin/env python3
"""report.py - turn the raw lines of one bench/run.sh run into RESULTS.md.

    report.py RAW.txt [RESULTS.md]     (default: print to stdout)

The Targets section judges this round's bar (constants below), each from this
one run. Memory for large mail comes from bench/bigmail.sh's results file:
META bigmail=FILE in RAW.txt, else $BIGMAIL_RESULTS, else bench/results/
bigmail-DATE.txt next to raw-DATE.txt; its "CASE mode=M mb=S idle_kb=I
peak_kb=P" lines are judged and its RELOAD lines reported; without a file
the section says "not measured in this run".

RAW.txt (bench/results/raw-DATE.txt) holds "META key=value ..." lines about
the machine, corpus and command; "CONF ..." and "CONFMIME ..." lines, the
configs of scanmilter (whole messages) and scanmilter-mime; one "RUN server=S
c=C rep=R ... <miltergen or rawscan RESULT fields>" line per run; one
"CAMPAIGN round=K ..." line per round of the campaign step and one "RULES
set=S file=F kind=K us=U ..." line per message and rule set of rulescost.
Every figure reported is the median over the repetitions of that server and
concurrency (rawscan: threads). Python 3 standard library only.
"""

import re
import statistics
import sys
from collections import defaultdict

# META keys whose value is the rest of the line (it may hold spaces).
REST_OF_LINE = {"host_cpu", "scanmilter", "command", "invoked_as", "libclamav", "kernel",
                "sm_av_conf", "sm_mime_av_conf"}

SERVERS = [
    ("scanmilter", "scanmilter"),
    ("scanmilter-mime", "scanmilter-mime"),
    ("clamav", "clamav-milter+clamd"),
    ("null", "nullmilter"),
]

# The targets, each a ratio within one run.  The default mode (scanmilter-mime:
# decomposition, cache on) against clamav-milter+clamd:
I5_CPU = 0.45       # CPU s per 1,000 messages at c=8, at most this times clamav's
I5_THR = 2.2        # throughput at c=8, at least this times clamav's
I5_CAMPAIGN = 0.05  # a cached campaign message, at most this share of its first scan
# Whole-message mode (scanmilter) against libclamav alone:
RAW_SHARE = 0.95    # throughput at c=1 and c=2, at least this share of rawscan's
RAW_CONC = (1, 2)
# Tail latency at c=32 against clamav-milter+clamd:
TAIL_C = 32
TAIL_P99 = 1.0      # p99 of all messages, at most this times clamav's
TAIL_SMALL_P99 = 0.5  # p99 of messages < 50 KB, at most this times clamav's
# Small messages at c=8, in every repetition:
SMALL_C = 8
SMALL_P50 = 1 / 3.0  # median latency of messages < 50 KB, at most this times clamav's
# Memory for large mail (bench/bigmail.sh): RssAnon while scanning, above idle
BIG_MB = 64
MODES = (("scanmilter-mime", "default mode (scanmilter-mime)"),
         ("scanmilter", "whole-message mode (scanmilter)"))


def parse(path, extra=None):
    meta, conf, runs = {}, [], defaultdict(list)
    noisy = []
    extra = {"confmime": [], "campaign": [], "rules": []} if extra is None else extra
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("META "):
                body = line[5:]
                key = body.split("=", 1)[0]
                if key in REST_OF_LINE:
                    meta[key] = body.split("=", 1)[1]
                else:
                    for k, v in re.findall(r"(\w+)=(\S*)", body):
                        meta[k] = v
            elif line.startswith("CONF "):
                conf.append(line[5:])
            elif line.startswith("CONFMIME "):
                extra["confmime"].append(line[9:])
            elif line.startswith("CAMPAIGN "):
                extra["campaign"].append(dict(re.findall(r"(\w+)=(\S*)", line[9:])))
            elif line.startswith("RULES "):
                extra["rules"].append(dict(re.findall(r"(\w+)=(\S*)", line[6:])))
            elif line.startswith("RUN "):
                d = dict(re.findall(r"(\w+)=(\S*)", line[4:]))
                runs[(d["server"], int(d["c"]))].append(d)
            elif line.startswith("NOISY "):
                noisy.append(dict(re.findall(r"(\w+)=(\S*)", line[6:])))
    return meta, conf, runs, noisy


def num(d, key):
    try:
        return float(d[key])
    except (KeyError, ValueError):
        return None


class Bench:
    def __init__(self, meta, runs):
        self.meta = meta
        self.runs = runs
        self.conc = [int(c) for c in meta["concurrency"].split(",")]
        self.threads = int(meta["threads"])
        self.count = int(meta["count"])

    def raw_j(self, c):
        return min(c, self.threads)

    def has(self, server):
        return any(s == server for s, _ in self.runs)

    def quiet(self, d):
        """The rest of the machine stayed under the noise threshold during run d."""
        o, w = num(d, "other_cpu_s"), num(d, "wall_s")
        if o is None or w is None:
            return True
        return o <= max(0.5, float(self.meta.get("noise_frac", 0.1)) * w)

    def ok_runs(self, server, c, quiet=False):
        return [d for d in self.runs.get((server, c), []) if "noresult" not in d and "status" not in d
                and (not quiet or self.quiet(d))]

    def n_runs(self, server, c, quiet=False):
        if server == "rawscan":
            c = self.raw_j(c)
        return len(self.ok_runs(server, c, quiet))

    def med(self, server, c, key, quiet=False):
        """Median over repetitions of one RESULT field (None when absent)."""
        if server == "rawscan":
            c = self.raw_j(c)
        vals = [num(d, key) for d in self.ok_runs(server, c, quiet)]
        vals = [v for v in vals if v is not None]
        return statistics.median(vals) if vals else None

    def spread(self, server, c, key):
        if server == "rawscan":
            c = self.raw_j(c)
        vals = [num(d, key) for d in self.ok_runs(server, c)]
        vals = [v for v in vals if v is not None]
        return (min(vals), max(vals)) if vals else None

    def worst(self, server, key):
        """Largest value of a field over every run of server."""
        vals = [num(d, key) for (s, _), ds in self.runs.items() if s == server for d in ds]
        vals = [v for v in vals if v is not None]
        return max(vals) if vals else None

    def ceiling(self, c):
        """rawscan and nullmilter in series: scan cost plus protocol and generator cost."""
        raw, null = self.rate("rawscan", c), self.rate("null", c)
        return 1.0 / (1.0 / raw + 1.0 / null) if raw and null else None

    def rate(self, server, c, quiet=False):
        return self.med(server, c, "files_per_s" if server == "rawscan" else "msgs_per_s", quiet)

    def cpu_per_1k(self, server, c):
        key = "cpu_s" if server == "rawscan" else "server_cpu_s"
        v = self.med(server, c, key)
        return None if v is None else v * 1000.0 / self.count

    def rss_mb(self, server, c, part=None):
        if part is None:
            v = self.med(server, c, "rss_kb")
        else:
            vals = []
            for d in self.ok_runs(server, c):
                for item in d.get("rss_detail", "").split(","):
                    name, _, kb = item.partition(":")
                    if name == part and kb:
                        vals.append(float(kb))
            v = statistics.median(vals) if vals else None
        return None if v is None or v == 0 else v / 1024.0


def rel(path):
    """bench/results/raw-… rather than an absolute path."""
    i = path.rfind("/bench/")
    return path[i + 1:] if i >= 0 else path


def fmt(v, digits=1):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def per_metric(b, title, getter, digits=1, servers=None, note=None):
    servers = servers or SERVERS + [("rawscan", "rawscan")]
    header = ["server"] + [f"c={c}" for c in b.conc]
    rows = []
    for key, label in servers:
        if not b.has(key):
            continue
        if key == "rawscan":
            label = "rawscan (-j min(c, %d))" % b.threads
        rows.append([label] + [fmt(getter(key, c), digits) for c in b.conc])
    s = f"### {title}\n\n" + table(header, rows) + "\n"
    if note:
        s += "\n" + note + "\n"
    return s


def verdict_line(ok, text):
    return f"- **{'met' if ok else 'MISSED'}** – {text}"


def na(text):
    return f"- **n/a** – {text}: not measured in this run"


def whole_targets(b):
    """Whole-message mode: >= 95 % of rawscan at c=1 and c=2, with the milter ceiling beside it."""
    lines = []
    for c in RAW_CONC:
        sm, raw = b.rate("scanmilter", c), b.rate("rawscan", c)
        r = ratio(sm, raw)
        if r is None:
            lines.append(na(f"c={c}: scanmilter ≥ {RAW_SHARE:.0%} of rawscan -j {b.raw_j(c)}"))
            continue
        ceil = b.ceiling(c)
        txt = (f"c={c}: scanmilter {sm:.1f} msgs/s vs rawscan -j {b.raw_j(c)} {raw:.1f} files/s = **{r:.1%}** "
               f"(target ≥ {RAW_SHARE:.0%})")
        if r < RAW_SHARE:
            txt += f": {(RAW_SHARE - r) * 100:.1f} points short, needs {RAW_SHARE / r - 1:+.1%} throughput"
        if ceil is not None:
            txt += (f"; the milter protocol's own cost (nullmilter {b.rate('null', c):.0f} msgs/s) leaves a ceiling of "
                    f"{ceil:.1f} msgs/s = {ceil / raw:.1%} of rawscan, of which scanmilter reaches {sm / ceil:.1%}")
        else:
            txt += "; ceiling: nullmilter not measured in this run"
        lines.append(verdict_line(r >= RAW_SHARE, txt))
    others = [f"c={c} {fmt(ratio(b.rate('scanmilter', c), b.rate('rawscan', c)), 3)}" for c in b.conc if c not in RAW_CONC]
    if others and b.has("rawscan"):
        lines.append("- (for information, scanmilter ÷ rawscan at the other concurrencies: " + ", ".join(others) + ")")
    return "\n".join(lines)


def tail_targets(b):
    """c=32: p99 of all messages <= clamav's, p99 of < 50 KB at most half of clamav's, in both modes."""
    c = TAIL_C
    lines = []
    if c not in b.conc:
        return na(f"tail latency at c={c}")
    for m, label in MODES:
        for key, what, lim in (("p99_ms", "p99 of all messages", TAIL_P99),
                               ("small_p99_ms", "p99 of messages < 50 KB", TAIL_SMALL_P99)):
            sm, ref = b.med(m, c, key), b.med("clamav", c, key)
            if sm is None or not ref:
                lines.append(na(f"{label}, c={c}, {what}"))
                continue
            r = sm / ref
            lines.append(verdict_line(r <= lim, f"{label}, c={c}: {what} {sm:.1f} ms vs clamav-milter+clamd's {ref:.1f} ms "
                                      f"= **{r:.2f}×** (target ≤ {lim:.2f}×, i.e. ≤ {lim * ref:.1f} ms)"
                                      + ("" if r <= lim else f": {sm - lim * ref:.1f} ms over")
                                      + f" [reps: {rep_values(b, m, c, key)} vs {rep_values(b, 'clamav', c, key)}]"))
    return "\n".join(lines)


def rep_values(b, server, c, key, digits=0):
    """The per-repetition values of one field, in repetition order."""
    ds = sorted(b.ok_runs(server, c), key=lambda d: int(d.get("rep", 0)))
    return "/".join(fmt(num(d, key), digits) for d in ds) or "–"


def small_targets(b):
    """c=8: median latency of < 50 KB messages at most 1/3 of clamav's in every repetition (paired by rep)."""
    c = SMALL_C
    if c not in b.conc:
        return na(f"small-message median at c={c}")
    lines = []
    ref_runs = {d.get("rep"): num(d, "small_p50_ms") for d in b.ok_runs("clamav", c)}
    for m, label in MODES:
        runs = sorted(b.ok_runs(m, c), key=lambda d: int(d.get("rep", 0)))
        if not runs or not ref_runs:
            lines.append(na(f"{label}, c={c}, median latency < 50 KB"))
            continue
        pairs = []
        for d in runs:
            sm, ref = num(d, "small_p50_ms"), ref_runs.get(d.get("rep"))
            if sm is not None and ref:
                pairs.append((d["rep"], sm, ref, sm / ref))
        if not pairs:
            lines.append(na(f"{label}, c={c}, median latency < 50 KB"))
            continue
        ok = all(r <= SMALL_P50 for _, _, _, r in pairs) and len(pairs) == len(runs)
        worst = max(r for _, _, _, r in pairs)
        # the stricter reading: the slowest repetition against clamav's fastest one
        cross = ratio(max(p[1] for p in pairs), min(v for v in ref_runs.values() if v))
        lines.append(verdict_line(ok, f"{label}, c={c}: median latency of messages < 50 KB in each repetition "
                                  + ", ".join(f"rep {rep}: {sm:.2f} vs {ref:.2f} ms = {r:.2f}×" for rep, sm, ref, r in pairs)
                                  + f" (target ≤ {SMALL_P50:.2f}× in every repetition; worst **{worst:.2f}×**; "
                                  f"slowest repetition against clamav-milter+clamd's fastest: {fmt(cross, 2)}×)"))
    return "\n".join(lines)


def bigmail_targets(path):
    """Memory for large mail, from bench/bigmail.sh's results file (CASE and RELOAD lines), when there is one.

    bench/bigmail.sh writes lines
        CASE mode=decompose-no|decompose-yes mb=S idle_kb=I peak_kb=P reply=... ...
        RELOAD mode=blocking|concurrent idle_kb=I peak_kb=P ...
    (RssAnon of the daemon idle and its peak while scanning one message of S MB); each one is judged
    against BIG_MB above idle. Any other lines of the file are shown as they are.
    """
    if not path:
        return "- **n/a** – memory for large mail: not measured in this run (no bench/bigmail.sh results file)"
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return f"- **n/a** – memory for large mail: not measured in this run (`{rel(path)}` is absent)"
    lines, info = [], []
    modes = {"decompose-no": "whole-message mode", "decompose-yes": "default mode (decomposition)"}
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind not in ("CASE", "RELOAD"):
            continue
        d = dict(re.findall(r"(\w+)=(\S*)", rest))
        idle, peak = num(d, "idle_kb"), num(d, "peak_kb")
        if idle is None or peak is None:
            continue
        up = (peak - idle) / 1024.0
        if kind == "RELOAD":
            info.append(f"- {d.get('mode', '?')} reload with signatures, no mail: RssAnon peak "
                        f"**+{up:.0f} MiB** over idle (reported, not a target)")
            continue
        size = d.get("size_mb") or d.get("mb") or "?"
        what = f"{modes.get(d.get('mode'), d.get('mode', '?'))}, one {size} MB message" + (
            f", {d['reload']} reload" if d.get("reload") else "")
        reply = d.get("reply", "").replace("_", " ").strip()
        lines.append(verdict_line(up <= BIG_MB, f"{what}: RssAnon {idle / 1024:.0f} MiB idle, peak {peak / 1024:.0f} MiB "
                                  f"= **+{up:.0f} MiB** (target ≤ +{BIG_MB} MiB)" + (f"; reply: {reply}" if reply else "")))
    lines += info
    if not lines:
        return f"From `{rel(path)}`:\n\n```\n{text.strip()}\n```"
    return "\n".join(lines) + f"\n\n(from `{rel(path)}`)"


def scaling_section(b):
    """Throughput against concurrency, and the lock counters of the largest concurrency, from this run."""
    out = []
    rows = []
    for m, label in MODES + (("clamav", "clamav-milter+clamd"),):
        if b.has(m):
            rows.append([label] + [fmt(b.rate(m, c)) for c in b.conc])
    if rows:
        out.append(table(["msgs/s"] + [f"c={c}" for c in b.conc], rows) + "\n")
    c = max(b.conc)
    rows = []
    for m, label in MODES:
        for site in ("pool", "vcache", "batch"):
            acq = b.med(m, c, f"lock_{site}_acquired")
            if acq is None:
                continue
            cont, wait = b.med(m, c, f"lock_{site}_contended"), b.med(m, c, f"lock_{site}_wait_us")
            rows.append([label, site, fmt(acq / b.count, 2), fmt(ratio(cont, acq) and ratio(cont, acq) * 100, 2),
                         fmt(wait and wait / 1000.0, 1), fmt(wait and wait / b.count, 1)])
    if rows:
        out.append(f"Mutex wait counters at c={c} (median run; the daemon logs them when it stops):\n\n"
                   + table(["mode", "lock", "acquisitions per message", "found held, %", "total wait, ms",
                            "wait per message, µs"], rows) + "\n")
    else:
        out.append("Mutex wait counters: not recorded in this run (a binary without them).\n")
    out.append("What would limit a 16-core host, from these figures and the profile: see `bench/PROFILE.md`, "
               "\"Scaling\".\n")
    return "\n".join(out)


def general_targets(b):
    """Checks of every run: no wait past the timeout, the same detections."""
    lines = []
    lim = float(b.meta.get("av_timeout_s", 60)) + 1.0
    for m, _ in MODES:
        mx = b.worst(m, "max_ms")
        bad = sum(int(num(d, k) or 0) for (s, _), ds in b.runs.items() if s == m for d in ds
                  for k in ("timeout", "connerr", "unsent", "tempfail"))
        if mx is not None:
            lines.append(verdict_line(mx / 1000.0 <= lim and bad == 0,
                                      f"longest wait of any message in any {m} run: {mx / 1000.0:.2f} s "
                                      f"(limit: timeout {lim - 1:.0f} s + 1 s = {lim:.0f} s); "
                                      f"timeouts/connection errors/unsent/tempfails: {bad}"))
    vbad = [f"{d['server']} c={d['c']} rep {d['rep']}: {d.get('verdicts', d.get('status', '?'))}"
            for ds in b.runs.values() for d in ds
            if d.get("server") != "null" and (d.get("verdicts") not in ("ok",) or d.get("rc") not in ("0",))]
    lines.append(verdict_line(not vbad, "every run of scanmilter, scanmilter-mime, clamav-milter+clamd and rawscan rejected/found exactly "
                              "the MANIFEST's infected messages and answered all others"
                              + ("" if not vbad else ": " + "; ".join(vbad))))
    return "\n".join(lines)


def serial_info(b):
    """At c=1 nothing overlaps: receiving a message and scanning it follow each other."""
    if 1 not in b.conc:
        return ""
    raw, null, sm, cv = (b.rate(s, 1) for s in ("rawscan", "null", "scanmilter", "clamav"))
    ceil = b.ceiling(1)
    if ceil is None:
        return ""
    return (f"At c=1 a milter that scans at end-of-message cannot overlap the transfer with the scan: "
            f"its ceiling is rawscan and nullmilter in series, 1/(1/{raw:.1f} + 1/{null:.1f}) = {ceil:.1f} msgs/s "
            f"= {ceil / raw:.1%} of rawscan -j 1. scanmilter reaches {fmt(ratio(sm, ceil), 3)} of that, "
            f"clamav-milter+clamd {fmt(ratio(cv, ceil), 3)}.")


def all_servers(b):
    """Every server at every concurrency: the key figures side by side."""
    hdr = ["c", "server", "msgs/s", "CPU s/1k msgs", "p50 ms", "p99 ms", "p50 <50KB ms", "p99 <50KB ms",
           "peak RSS MB", "verdicts (runs ok/all)"]
    rows = []
    for c in b.conc:
        for key, label in [("rawscan", f"rawscan -j {b.raw_j(c)} (files/s)")] + SERVERS:
            if not b.has(key):
                continue
            cc = b.raw_j(c) if key == "rawscan" else c
            ds = b.runs.get((key, cc), [])
            okv = sum(1 for d in ds if d.get("verdicts") in ("ok", "n/a") and d.get("rc") == "0")
            rows.append([str(c), label, fmt(b.rate(key, c)), fmt(b.cpu_per_1k(key, c), 2),
                         fmt(b.med(key, c, "p50_ms")), fmt(b.med(key, c, "p99_ms"), 0),
                         fmt(b.med(key, c, "small_p50_ms")), fmt(b.med(key, c, "small_p99_ms")),
                         fmt(b.rss_mb(key, c), 0), f"{okv}/{len(ds)}"])
    return table(hdr, rows)


def campaign_stats(camp, meta):
    """Aggregates of the campaign step's rounds (None when there are none)."""
    ok = [d for d in camp if "status" not in d]
    if not ok:
        return None
    hz = float(meta.get("clk_tck", 100))
    mean = statistics.mean
    first_ms = [num(d, "first_avg_ms_message") for d in ok]
    cached_ms = [num(d, "cached_avg_ms_message") for d in ok]
    if None in first_ms or None in cached_ms:
        return None
    n = sum(int(d["n"]) for d in ok)
    r = {
        "rounds": len(ok), "failed": len(camp) - len(ok), "n": int(ok[0]["n"]), "hz": hz,
        "first_ms": mean(first_ms), "cached_ms": mean(cached_ms),
        "first_tick_ms": sum(int(d["first_cpu_ticks"]) for d in ok) * 1000.0 / hz / len(ok),
        "cached_tick_ms": sum(int(d["cached_cpu_ticks"]) for d in ok) * 1000.0 / hz / n,
        "first_lat": mean(num(d, "first_lat_mean") for d in ok),
        "cached_lat": mean(num(d, "cached_lat_mean") for d in ok),
        "round_ratios": [c / f for c, f in zip(cached_ms, first_ms) if f],
    }
    r["perf"] = all(num(d, "first_perf_ms") is not None and num(d, "cached_perf_ms") is not None for d in ok)
    if r["perf"]:
        r["first_cpu_ms"] = sum(num(d, "first_perf_ms") for d in ok) / len(ok)
        r["cached_cpu_ms"] = sum(num(d, "cached_perf_ms") for d in ok) / n
    else:
        r["first_cpu_ms"], r["cached_cpu_ms"] = r["first_tick_ms"], r["cached_tick_ms"]
    r["cpu_ratio"] = ratio(r["cached_cpu_ms"], r["first_cpu_ms"])
    r["cpu_round_ratios"] = [(num(d, "cached_perf_ms") / int(d["n"])) / num(d, "first_perf_ms")
                             for d in ok if r["perf"] and num(d, "first_perf_ms")]
    r["scan_ratio"] = ratio(r["cached_ms"], r["first_ms"])
    r["lat_ratio"] = ratio(r["cached_lat"], r["first_lat"])
    return r


def issue5(b, extra):
    """The decomposition targets: scanmilter-mime (mime_decompose = yes, cache on) against clamav-milter+clamd."""
    m, cv = "scanmilter-mime", "clamav"
    lines = []
    if not b.has(m):
        return "scanmilter-mime was not measured in this run (SERVERS)."
    # CPU per 1,000 messages
    for c in b.conc:
        sm, ref = b.cpu_per_1k(m, c), b.cpu_per_1k(cv, c)
        r = ratio(sm, ref)
        if r is None:
            lines.append(f"- **n/a** – c={c}: CPU s/1k messages: no data")
            continue
        lim = I5_CPU * ref
        # the target holds only with every infected message rejected and no clean one touched
        vbad = [d["rep"] for d in b.runs.get((m, c), [])
                if num(d, "inf_rejected") != num(d, "inf_n") or num(d, "clean_untouched") != num(d, "clean_n")]
        judge = verdict_line if c == 8 else (lambda ok, text: f"- (for information, {'within' if ok else 'above'} the "
                                                              f"c=8 bar) {text}")
        lines.append(judge(r <= I5_CPU and not vbad, f"c={c}{' (the target)' if c == 8 else ''}: CPU per 1,000 messages "
                                  f"{sm:.2f} s vs clamav-milter+clamd's {ref:.2f} s = **{r:.2f}×** "
                                  f"(target ≤ {I5_CPU:.2f}×, i.e. ≤ {lim:.2f} s)"
                                  + ("" if r <= I5_CPU else f": {sm - lim:.2f} s ({sm / lim - 1:.0%}) over")
                                  + ("" if not vbad else
                                     f"; but the verdict condition failed in rep {', '.join(vbad)} at this concurrency (below)")))
    # throughput at c=8
    if 8 in b.conc:
        sm, ref = b.rate(m, 8), b.rate(cv, 8)
        r = ratio(sm, ref)
        if r is not None:
            lines.append(verdict_line(r >= I5_THR, f"c=8: throughput {sm:.1f} msgs/s vs clamav-milter+clamd's {ref:.1f} = "
                                      f"**{r:.2f}×** (target ≥ {I5_THR:.2f}×, i.e. ≥ {I5_THR * ref:.1f} msgs/s)"
                                      + ("" if r >= I5_THR else f": {I5_THR * ref - sm:.1f} msgs/s "
                                         f"({I5_THR * ref / sm - 1:.0%} more needed)")))
        others = [f"c={c} {fmt(ratio(b.rate(m, c), b.rate(cv, c)), 2)}×" for c in b.conc if c != 8]
        if others:
            lines.append("- (for information, throughput ÷ clamav-milter+clamd at the other concurrencies: "
                         + ", ".join(others) + ")")
    else:
        lines.append("- **n/a** – throughput at c=8: concurrency 8 not measured")
    # campaign
    cs = campaign_stats(extra["campaign"], b.meta)
    if cs is None:
        lines.append("- **n/a** – campaign: the campaign step did not run or failed (see the raw file)")
    else:
        lines.append(verdict_line(cs["scan_ratio"] <= I5_CAMPAIGN,
                                  f"campaign, by the daemon's scan time: a cached campaign message {cs['cached_ms']:.2f} ms vs "
                                  f"its first scan {cs['first_ms']:.2f} ms = **{cs['scan_ratio']:.1%}** "
                                  f"(target ≤ {I5_CAMPAIGN:.0%})"
                                  + ("" if cs["scan_ratio"] <= I5_CAMPAIGN else
                                     f": {cs['cached_ms'] - I5_CAMPAIGN * cs['first_ms']:.2f} ms per message over "
                                     f"(≤ {I5_CAMPAIGN * cs['first_ms']:.2f} ms needed)")))
        lines.append(verdict_line(cs["cpu_ratio"] <= I5_CAMPAIGN,
                                  f"campaign, by the daemon's CPU ("
                                  + ("perf stat task-clock, all threads" if cs["perf"] else
                                     f"utime+stime in {1000 / cs['hz']:.0f} ms ticks: coarse for one message") +
                                  f"): {cs['cached_cpu_ms']:.2f} ms per cached "
                                  f"message vs {cs['first_cpu_ms']:.1f} ms for the first = **{cs['cpu_ratio']:.1%}** "
                                  f"(target ≤ {I5_CAMPAIGN:.0%}"
                                  + ("" if cs["cpu_ratio"] <= I5_CAMPAIGN else
                                     f"; ≤ {I5_CAMPAIGN * cs['first_cpu_ms']:.2f} ms needed") + ")"))
    # verdicts: every infected message rejected, no clean one touched, per concurrency
    ds_all = [d for (s, _), v in b.runs.items() if s == m for d in v]
    if ds_all:
        def iv(d, k):
            return int(num(d, k) or 0)
        inf = [(iv(d, "inf_rejected"), iv(d, "inf_n")) for d in ds_all]
        lines.append(verdict_line(all(r == n and n > 0 for r, n in inf),
                                  f"infected messages rejected by scanmilter-mime: {min(r for r, _ in inf)} of "
                                  f"{max(n for _, n in inf)} in the worst of its {len(ds_all)} runs"
                                  + ("" if all(r == n for r, n in inf) else
                                     " (" + ", ".join(f"c={d['c']} rep {d['rep']}: {iv(d, 'inf_rejected')}/{iv(d, 'inf_n')}"
                                                      for d in ds_all if iv(d, 'inf_rejected') != iv(d, 'inf_n')) + ")")))
        events = (("sm_tempfails_busy", "tempfailed busy (451 4.3.2, the CPU pool's queue full)"),
                  ("sm_tempfails_timeout", "tempfailed on the scan timeout"),
                  ("sm_tempfails_error", "tempfailed on a scan error"),
                  ("sm_unscannable", "unscannable"), ("sm_cured", "cured (stripped)"),
                  ("sm_quarantines", "quarantined"), ("sm_discards", "discarded"))
        for c in b.conc:
            ds = b.runs.get((m, c), [])
            if not ds:
                continue
            cl = [(iv(d, "clean_untouched"), iv(d, "clean_n")) for d in ds]
            ok = all(u == n and n > 0 for u, n in cl)
            have_sm = all("sm_messages" in d for d in ds)
            dm = all(iv(d, "sm_clean") == iv(d, "clean_n") and iv(d, "sm_infected") == iv(d, "inf_n") for d in ds) \
                if have_sm else None
            bad = []
            for d in ds:
                ev = [f"{iv(d, k)} {what}" for k, what in events if iv(d, k)]
                if ev or iv(d, "clean_untouched") != iv(d, "clean_n"):
                    bad.append(f"rep {d['rep']}: {iv(d, 'clean_untouched')}/{iv(d, 'clean_n')}"
                               + (" – daemon counters: " + ", ".join(ev) if ev else ""))
            txt = (f"c={c}: clean messages untouched by scanmilter-mime (accepted, no reply code, not quarantined): "
                   f"{min(u for u, _ in cl)} of {max(n for _, n in cl)} in the worst of {len(ds)} runs")
            if bad:
                txt += " (" + "; ".join(bad) + ")"
            elif dm:
                txt += "; the daemon's counters agree (verdict Clean for exactly the clean messages, Infected for " \
                       "exactly the infected ones; nothing cured, quarantined, discarded or tempfailed)"
            elif dm is None:
                txt += " (no daemon counters: no control socket)"
            lines.append(verdict_line(ok and not bad, txt))
    return "\n".join(lines)


def issue5_breakdown(b):
    """Where scanmilter-mime's CPU goes, next to the references, at c=8 (or the largest c)."""
    c = 8 if 8 in b.conc else max(b.conc)
    m = "scanmilter-mime"
    cells = [("rawscan (libclamav on whole messages, no milter)", b.cpu_per_1k("rawscan", c)),
             ("nullmilter (the milter protocol alone)", b.cpu_per_1k("null", c)),
             ("scanmilter, whole messages", b.cpu_per_1k("scanmilter", c)),
             ("scanmilter-mime", b.cpu_per_1k(m, c)),
             ("clamav-milter+clamd", b.cpu_per_1k("clamav", c))]
    ref = b.cpu_per_1k("clamav", c)
    rows = [[label, fmt(v, 2), fmt(ratio(v, ref), 2)] for label, v in cells if v is not None]
    if ref:
        rows.append([f"the target's limit ({I5_CPU}× clamav-milter+clamd)", fmt(I5_CPU * ref, 2), fmt(I5_CPU, 2)])
    txt = (f"CPU seconds per 1,000 messages at c={c} (medians), next to the references:\n\n"
           + table(["", "CPU s/1k msgs", "÷ clamav-milter+clamd"], rows) + "\n")
    hits = b.med(m, c, "sm_cache_hits")
    scans = b.med(m, c, "sm_engine_scans")
    parts = b.med(m, c, "sm_mime_parts")
    if hits is not None and scans is not None:
        txt += (f"\nscanmilter-mime's daemon counters over one pass of the corpus at c={c} (median run): "
                f"{scans:,.0f} engine scans (cache misses), {hits:,.0f} cache hits"
                + (f", {parts:,.0f} MIME parts" if parts is not None else "")
                + f", average time per message {fmt(b.med(m, c, 'sm_avg_ms_message'), 2)} ms "
                  f"(whole-message scanmilter: {fmt(b.med('scanmilter', c, 'sm_avg_ms_message'), 2)} ms).\n")
    return txt


def campaign_section(extra, meta):
    camp = extra["campaign"]
    if not camp:
        return ""
    cs = campaign_stats(camp, meta)
    hz = float(meta.get("clk_tck", 100))
    out = ["## Campaign: a cached attachment against its first scan\n"]
    out.append(f"What is measured: {meta.get('campaign_rounds', '?')} rounds; each starts a **fresh scanmilter-mime** "
               f"(same config as in the runs above; verdict cache and libclamav's own clean-file cache empty), "
               f"sends {meta.get('campaign_warm', '?')} clean non-campaign messages (plain, html, attach: warm-up, not counted), "
               "resets the daemon's counters (`scanmilterctl stats reset`), sends **one campaign message** "
               f"(≈{int(meta.get('campaign_msg_bytes', 0)) / 1024:.0f} KB, carrying the corpus's 400 KB campaign "
               "attachment base64-encoded, not yet cached: the first scan), "
               f"reads the counters, resets them, sends **{meta.get('campaign_n', '?')} further campaign messages** "
               "(other text, the same attachment: cached) and reads them again. Every message goes through "
               "miltergen at concurrency 1, one message per connection. Round k uses the corpus's k-th campaign "
               "message as its first; the cached ones are the same in every round.\n")
    out.append("- **daemon scan time**: `scanmilterctl stats` \"Avg. time/message\" (the wall time from "
               "end-of-message to the verdict inside the daemon: MIME decomposition, decoding, SHA-256, cache "
               "look-ups, libclamav; µs resolution);")
    if meta.get("campaign_perf") == "yes":
        out.append("- **daemon CPU**: `perf stat -e task-clock -p PID` over the phase: CPU time of every thread "
                   "of the daemon (connection threads started meanwhile included), ns resolution; it includes "
                   "receiving the message, the milter protocol and the daemon's idle background over the "
                   "phase (≈0.5 s); also utime+stime from /proc/PID/stat "
                   f"({1000 / hz:.0f} ms ticks, in the raw file);")
    else:
        out.append(f"- **daemon CPU**: utime+stime of the scanmilter process over the phase (/proc/PID/stat, "
                   f"{1000 / hz:.0f} ms ticks: ±1 tick per single-message measurement; it includes receiving "
                   "the message and the milter protocol);")
    out.append("- **latency**: miltergen's, MAIL to the reply to end-of-message (includes sending the "
               "whole message over the unix socket, which no cache can save).\n")
    rows = []
    for d in camp:
        if "status" in d and "first_avg_ms_message" not in d:
            rows.append([d.get("round", "?"), d.get("status", "?")] + ["–"] * 8)
            continue
        n = int(d.get("n", 1))
        f_ms, c_ms = num(d, "first_avg_ms_message"), num(d, "cached_avg_ms_message")
        if num(d, "first_perf_ms") is not None and num(d, "cached_perf_ms") is not None:
            f_cpu, c_cpu = num(d, "first_perf_ms"), num(d, "cached_perf_ms") / n
        else:
            f_cpu, c_cpu = int(d["first_cpu_ticks"]) * 1000.0 / hz, int(d["cached_cpu_ticks"]) * 1000.0 / hz / n
        rows.append([
            d["round"] + (f" ({d['status']})" if "status" in d else ""), d.get("first_file", "?"),
            fmt(f_ms, 2), f"{d.get('first_engine_scans', '?')} / {d.get('first_cache_hits', '?')}",
            fmt(f_cpu, 1),
            fmt(c_ms, 2), f"{fmt((num(d, 'cached_engine_scans') or 0) / n, 2)} / {fmt((num(d, 'cached_cache_hits') or 0) / n, 2)}",
            fmt(c_cpu, 2),
            f"{fmt(num(d, 'first_lat_mean'), 1)} / {fmt(num(d, 'cached_lat_mean'), 1)}",
            fmt(ratio(c_ms, f_ms), 3),
        ])
    out.append(table(["round", "first message", "first: scan ms", "first: engine scans / cache hits",
                      "first: CPU ms", "cached: scan ms/msg", "cached: engine scans / cache hits per msg",
                      "cached: CPU ms/msg", "latency ms first / cached (mean)", "scan-time ratio"], rows) + "\n")
    if cs:
        rr = cs["round_ratios"]
        out.append(table(["measure", "first scan", "cached message", "ratio", f"target ≤ {I5_CAMPAIGN:.0%}"], [
            ["daemon scan time, ms (mean of rounds)", fmt(cs["first_ms"], 2), fmt(cs["cached_ms"], 2),
             f"{cs['scan_ratio']:.1%}" + (f" (rounds {min(rr):.1%}–{max(rr):.1%})" if rr else ""),
             "met" if cs["scan_ratio"] <= I5_CAMPAIGN else "MISSED"],
            ["daemon CPU, ms (" + ("perf" if cs["perf"] else "ticks") + ", all rounds pooled)",
             fmt(cs["first_cpu_ms"], 1), fmt(cs["cached_cpu_ms"], 2),
             f"{cs['cpu_ratio']:.1%}" + (f" (rounds {min(cs['cpu_round_ratios']):.1%}–{max(cs['cpu_round_ratios']):.1%})"
                                         if cs["cpu_round_ratios"] else ""),
             "met" if cs["cpu_ratio"] <= I5_CAMPAIGN else "MISSED"],
            ["latency at c=1, ms (mean; for information)", fmt(cs["first_lat"], 1), fmt(cs["cached_lat"], 1),
             f"{cs['lat_ratio']:.1%}", "–"],
        ]) + "\n")
    return "\n".join(out)


def rules_section(extra, meta, b):
    rules = extra["rules"]
    if not rules:
        if meta.get("rules") in ("skipped", "failed"):
            return f"## Rules engine cost\n\nNot measured: the rules step was {meta['rules']} (see the raw file).\n"
        return ""
    sets = []
    for d in rules:
        if d["set"] not in sets:
            sets.append(d["set"])
    by = defaultdict(list)
    for d in rules:
        v = num(d, "us")
        if v is not None:
            by[(d["set"], None)].append(v)
            by[(d["set"], d.get("kind", "?"))].append(v)
    out = ["## Rules engine cost\n"]
    out.append(f"`bench/rulescost -n {meta.get('rules_iter', '?')} etc/rules.xml etc/rules.rng {','.join(sets)} FILE…` "
               f"over {meta.get('rules_files', '?')} corpus messages ("
               + ("all of them" if meta.get("rules_step") == "1" else f"every {meta.get('rules_step', '?')}-th of the MANIFEST")
               + "; "
               f"rules.xml sha256 {meta.get('rules_xml_sha256', '?')}…): per message, one warm-up evaluation, then "
               f"{meta.get('rules_iter', '?')} timed ones; CPU time of the evaluating thread (CLOCK_THREAD_CPUTIME_ID), "
               "loading and compiling the rules excluded; envelope fixed (client 2001:db8:1::25, HELO mx.example.com). "
               "Single-threaded, one core.\n")

    def pct(v, q):
        v = sorted(v)
        return v[min(len(v) - 1, int(round(q / 100.0 * (len(v) - 1))))]
    rows = []
    for st in sets:
        v = by[(st, None)]
        scored = sum(1 for d in rules if d["set"] == st and (num(d, "score") or 0) != 0)
        rows.append([st, str(len(v)), fmt(statistics.median(v), 1), fmt(statistics.mean(v), 1),
                     fmt(pct(v, 90), 1), fmt(pct(v, 99), 1), fmt(max(v), 1), str(scored)])
    out.append(table(["rule set", "messages", "median µs/msg", "mean µs/msg", "p90", "p99", "max",
                      "messages scored ≠ 0"], rows) + "\n")
    kinds = sorted({k for (_, k) in by if k is not None}, key=lambda k: -len(by[(sets[0], k)]))
    hdr = ["kind", "messages"] + [f"{st} median / mean µs" for st in sets]
    rows = [[k, str(len(by[(sets[0], k)]))] + [f"{fmt(statistics.median(by[(st, k)]), 1)} / {fmt(statistics.mean(by[(st, k)]), 1)}"
                                              if by[(st, k)] else "–" for st in sets] for k in kinds]
    out.append("By message kind:\n\n" + table(hdr, rows) + "\n")
    cpu = b.cpu_per_1k("scanmilter-mime", 8) if 8 in b.conc else None
    if cpu:
        out.append("For scale: scanmilter-mime's whole CPU cost per message at c=8 is "
                   f"{cpu * 1000:,.0f} µs; the mean rule-set evaluation is "
                   + ", ".join(f"{statistics.mean(by[(st, None)]) / (cpu * 1000):.1%} of it ({st})" for st in sets)
                   + ".\n")
    return "\n".join(out)


def bigmail_path(raw, meta):
    """bench/bigmail.sh's results for this run: META bigmail=FILE, else $BIGMAIL_RESULTS, else
    bigmail-STAMP.txt next to raw-STAMP.txt; None when none is named or found."""
    import os
    name = meta.get("bigmail") or os.environ.get("BIGMAIL_RESULTS")
    if name:
        if not os.path.isabs(name):
            top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(raw))))
            name = os.path.join(top, name)
        return name
    base = os.path.basename(raw)
    if base.startswith("raw-"):
        cand = os.path.join(os.path.dirname(raw), "bigmail-" + base[4:])
        if os.path.exists(cand):
            return cand
    return None


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: report.py RAW.txt [RESULTS.md]")
    raw = sys.argv[1]
    extra = {"confmime": [], "campaign": [], "rules": []}
    meta, conf, runs, noisy = parse(raw, extra)
    b = Bench(meta, runs)
    C = b.conc
    T = b.threads
    out = []
    w = out.append

    corpus_mb = int(meta["corpus_bytes"]) / 1e6
    kinds = ", ".join(f"{k} {v}" for k, v in sorted((kv.split(":") for kv in meta.get("corpus_kinds", "").split(",") if kv),
                                                     key=lambda kv: -int(kv[1])))
    sigs = b.med("rawscan", 1, "sigs")
    rt = int(meta.get("runtime_s", 0))

    w("# scanmilter benchmark results\n")
    w(f"Generated by `bench/run.sh` (via `make bench`) from `{rel(raw)}`. "
      "Every figure is the **median of "
      f"{meta['reps']} repetition(s)**; each run starts a fresh server (libclamav's clean-file cache empty) "
      "and sends the whole corpus once.\n")
    w("## Setup\n")
    w(f"- date: {meta.get('date')}; total bench runtime {rt // 60} min {rt % 60} s")
    w(f"- machine: {meta.get('host_nproc')} CPUs ({meta.get('host_cpu')}), {int(meta.get('host_mem_mb', 0)):,} MB RAM, "
      f"Linux {meta.get('kernel')}")
    w(f"- software: {meta.get('scanmilter')} (git {meta.get('git')}), libclamav {meta.get('libclamav')} "
      "(Debian's clamd and clamav-milter on the same library)")
    w(f"- corpus (`bench/mkcorpus.py --count {meta['count']} --seed 1`): {int(meta['corpus_files']):,} messages, "
      f"{corpus_mb:.1f} MB (average {int(meta['corpus_bytes']) / int(meta['corpus_files']) / 1024:.0f} KB, "
      f"largest {int(meta['corpus_max']) / 1e6:.1f} MB), {int(meta['corpus_small']):,} under 50 KB, "
      f"{meta['corpus_infected']} infected; kinds: {kinds}")
    w(f"- signatures (`bench/mksigs.py`): {int(meta['db_lines']):,} lines"
      + (f", {int(sigs):,} signatures loaded by libclamav" if sigs else "") + " (random MD5 and body patterns plus EICAR and clam.exe)")
    noise = sorted(((num(d, "other_cpu_s"), f"{d['server']} c={d['c']} rep {d['rep']}")
                    for ds in runs.values() for d in ds if num(d, "other_cpu_s") is not None),
                   key=lambda t: t[0])
    if noise:
        w(f"- machine noise: CPU used by other processes during a run: median {statistics.median(n for n, _ in noise):.2f} s, "
          f"at most {noise[-1][0]:.2f} s ({noise[-1][1]}); see \"Noise\" below")
    if "retries" in meta:
        w(f"- noisy runs (other processes above {float(meta.get('noise_frac', 0.1)):.0%} of a CPU) repeated, at most "
          f"{meta['retries']} time(s) each: {len(noisy)} repeated"
          + (" (" + ", ".join(f"{d['server']} c={d['c']} rep {d['rep']}: {d.get('other_cpu_s')} s" for d in noisy) + ")"
             if noisy else "") + "; the NOISY lines stay in the raw file")
    w(f"- everything on tmpfs ({meta.get('workdir')}): corpus, database, sockets, every side's temporary files")
    w(f"- scanmilter: threadpool \"CPU\" concurrency = **{T} (= cores)**, antivirus timeout {meta.get('av_timeout_s')} s, "
      "whole messages (`mime_decompose = no`), limits as clamd's (config below); left at this binary's defaults: "
      + (f"pool {meta['pool_defaults'].replace(',', ', ')}; " if meta.get("pool_defaults") else "")
      + (f"{meta['av_defaults'].replace(',', ', ')}" if meta.get("av_defaults") else "")
      + (f" (binary sha256 {meta['scanmilter_sha256']}…)" if meta.get("scanmilter_sha256") else ""))
    if b.has("scanmilter-mime"):
        w(f"- scanmilter-mime: the same binary and config, except the antivirus scope's "
          f"`{meta.get('sm_mime_av_conf', 'mime_decompose = yes')}` instead of `{meta.get('sm_av_conf', 'mime_decompose = no')}` "
          "(each attachment decoded and scanned on its own, the rest once as mail; the verdict cache at its default "
          "size, see the defaults above) and its own socket, control socket and temporary directory")
    w("- clamav-milter + clamd: `bench/clamav-milter.sh` (unix sockets, clamd MaxThreads 12, MaxFileSize 100M, "
      "MaxScanSize 400M, StreamMaxLength 100M, clean cache on; clamd restarted before every run)")
    w(f"- rawscan: libclamav's whole-message scan rate from memory, no milter (`rawscan -j J`); the ceiling at "
      f"concurrency c is rawscan -j min(c, {T})")
    w("- nullmilter: libmilter milter accepting everything (the milter protocol's own cost)")
    w(f"- load: `miltergen -c C -n {meta['count']}` (one message per connection); latency = MAIL to the EOM reply")
    w("- CPU: the server side's utime+stime from /proc/PID/stat over the miltergen run (clamav-milter+clamd: "
      "both processes); peak RSS: VmHWM just before stopping (clamav-milter+clamd: the sum; the database load "
      "peak included). rawscan: its own scan CPU, and maxrss from /usr/bin/time.\n")

    # --- summary
    w("## Summary\n")
    hdr = ["c", "scanmilter msgs/s", "clamav-milter+clamd msgs/s", f"rawscan files/s (-j)",
           "scanmilter ÷ rawscan", "scanmilter ÷ clamav", "p50 <50KB ms (sm / cv)", "p99 ms (sm / cv)",
           "CPU s/1k msgs (sm / cv)", "peak RSS MB (sm / cv)"]
    rows = []
    for c in C:
        rows.append([
            str(c), fmt(b.rate("scanmilter", c)), fmt(b.rate("clamav", c)),
            f"{fmt(b.rate('rawscan', c))} ({b.raw_j(c)})",
            fmt(ratio(b.rate("scanmilter", c), b.rate("rawscan", c)), 3),
            fmt(ratio(b.rate("scanmilter", c), b.rate("clamav", c)), 2),
            f"{fmt(b.med('scanmilter', c, 'small_p50_ms'))} / {fmt(b.med('clamav', c, 'small_p50_ms'))}",
            f"{fmt(b.med('scanmilter', c, 'p99_ms'), 0)} / {fmt(b.med('clamav', c, 'p99_ms'), 0)}",
            f"{fmt(b.cpu_per_1k('scanmilter', c), 2)} / {fmt(b.cpu_per_1k('clamav', c), 2)}",
            f"{fmt(b.rss_mb('scanmilter', c), 0)} / {fmt(b.rss_mb('clamav', c), 0)}",
        ])
    w(table(hdr, rows) + "\n")

    if any(b.n_runs(s, c, True) < b.n_runs(s, c) for s in ("scanmilter", "clamav", "rawscan") for c in C):
        w("### Summary over quiet runs only\n")
        w("The same medians, over only the runs during which the rest of the machine stayed under the noise "
          "threshold (n = runs used). For a noisy machine this is the fairer comparison; the targets below "
          "use all runs.\n")
        hdr = ["c", "scanmilter msgs/s (n)", "clamav-milter+clamd msgs/s (n)", "rawscan files/s (n)",
               "scanmilter ÷ rawscan", "scanmilter ÷ clamav", "p50 <50KB ms (sm / cv)", "p99 ms (sm / cv)"]
        rows = []
        for c in C:
            rows.append([
                str(c),
                f"{fmt(b.rate('scanmilter', c, True))} ({b.n_runs('scanmilter', c, True)})",
                f"{fmt(b.rate('clamav', c, True))} ({b.n_runs('clamav', c, True)})",
                f"{fmt(b.rate('rawscan', c, True))} ({b.n_runs('rawscan', c, True)})",
                fmt(ratio(b.rate("scanmilter", c, True), b.rate("rawscan", c, True)), 3),
                fmt(ratio(b.rate("scanmilter", c, True), b.rate("clamav", c, True)), 2),
                f"{fmt(b.med('scanmilter', c, 'small_p50_ms', True))} / {fmt(b.med('clamav', c, 'small_p50_ms', True))}",
                f"{fmt(b.med('scanmilter', c, 'p99_ms', True), 0)} / {fmt(b.med('clamav', c, 'p99_ms', True), 0)}",
            ])
        w(table(hdr, rows) + "\n")

    w("### All servers\n")
    w("The key figures of every server at every concurrency (medians; rawscan: files/s, scan CPU only).\n")
    w(all_servers(b) + "\n")

    w("## Targets\n")
    w("Each target is a ratio within this one run (same corpus, signatures and machine), judged on the "
      "medians above unless it says otherwise.\n")
    w("### Default mode (scanmilter-mime: `mime_decompose = yes`, cache on)\n")
    w(f"CPU seconds per 1,000 messages ≤ {I5_CPU}× clamav-milter+clamd's and throughput ≥ {I5_THR}× at "
      "concurrency 8, every infected message refused and no clean one touched (CPU: the server side's "
      "utime+stime over the whole pass of the corpus, a fresh daemon per run, so a cold cache; "
      "clamav-milter+clamd: both processes). The campaign lines are last round's target, still checked.\n")
    if b.has("scanmilter-mime"):
        w(issue5(b, extra) + "\n")
        w(issue5_breakdown(b))
    else:
        w(na("the default mode (scanmilter-mime)") + "\n")
    w("### Whole-message mode (scanmilter: `mime_decompose = no`)\n")
    w(f"Throughput ≥ {RAW_SHARE:.0%} of libclamav's own rate (rawscan, no milter) at concurrency "
      + " and ".join(str(c) for c in RAW_CONC) + ".\n")
    w(whole_targets(b) + "\n")
    info = serial_info(b)
    if info:
        w(info + "\n")
    w(f"### Tail latency at concurrency {TAIL_C}\n")
    w(f"p99 of all messages ≤ {TAIL_P99:.0f}× clamav-milter+clamd's while messages < 50 KB keep their lead "
      f"(their p99 ≤ {TAIL_SMALL_P99:.1f}× clamav-milter+clamd's); judged in both modes.\n")
    w(tail_targets(b) + "\n")
    w(f"### Small-message median at concurrency {SMALL_C}\n")
    w(f"Median latency of messages < 50 KB ≤ ⅓ of clamav-milter+clamd's in every repetition (repetition k of "
      "each server against repetition k of clamav-milter+clamd), not only in the medians.\n")
    w(small_targets(b) + "\n")
    w("### Memory for large mail\n")
    w(f"The daemon's RssAnon, sampled while it scans one 50 MB and one 200 MB message, within {BIG_MB} MiB "
      "of idle, in both modes (`bench/bigmail.sh`).\n")
    w(bigmail_targets(bigmail_path(raw, meta)) + "\n")
    w("### Scaling with cores\n")
    w(f"The same bench at concurrency {', '.join(str(c) for c in C)} on this {meta.get('host_nproc', '?')}-core "
      "machine (the per-metric tables below have every figure).\n")
    w(scaling_section(b))
    w("### Every run\n")
    w(general_targets(b) + "\n")
    camp = campaign_section(extra, meta)
    if camp:
        w(camp)
    rules = rules_section(extra, meta, b)
    if rules:
        w(rules)

    # --- per metric
    w("## Per metric\n")
    w(per_metric(b, "Throughput, messages/s (rawscan: files/s)", b.rate))
    rows = []
    for key, label in SERVERS + [("rawscan", f"rawscan (-j min(c, {T}))")]:
        if not b.has(key):
            continue
        cells = []
        for c in C:
            sp = b.spread(key, c, "files_per_s" if key == "rawscan" else "msgs_per_s")
            cells.append("–" if sp is None else f"{sp[0]:,.1f}–{sp[1]:,.1f}")
        rows.append([label] + cells)
    w("### Throughput spread over the repetitions (min–max)\n\n" + table(["server"] + [f"c={c}" for c in C], rows) + "\n")
    rows = []
    for label, num_s, den_s in (("scanmilter ÷ rawscan", "scanmilter", "rawscan"),
                                ("scanmilter ÷ clamav-milter+clamd", "scanmilter", "clamav"),
                                ("clamav-milter+clamd ÷ rawscan", "clamav", "rawscan"),
                                ("nullmilter ÷ rawscan", "null", "rawscan"),
                                ("scanmilter-mime ÷ clamav-milter+clamd", "scanmilter-mime", "clamav"),
                                ("scanmilter-mime ÷ scanmilter", "scanmilter-mime", "scanmilter"),
                                ("scanmilter-mime ÷ rawscan", "scanmilter-mime", "rawscan")):
        if not (b.has(num_s) and b.has(den_s)):
            continue
        rows.append([label] + [fmt(ratio(b.rate(num_s, c), b.rate(den_s, c)), 3) for c in C])
    rows.append(["milter ceiling ÷ rawscan"] + [fmt(ratio(b.ceiling(c), b.rate("rawscan", c)), 3) for c in C])
    rows.append(["scanmilter ÷ milter ceiling"] + [fmt(ratio(b.rate("scanmilter", c), b.ceiling(c)), 3) for c in C])
    w("### Throughput ratios\n\n" + table(["ratio"] + [f"c={c}" for c in C], rows) + "\n\n"
      "\"milter ceiling\" = 1/(1/rawscan + 1/nullmilter): the rate of a milter whose only cost beyond "
      "libclamav's scan is the milter protocol and the load generator (both on the same CPUs as the scan); "
      "rawscan pays neither.\n")
    lat_servers = SERVERS
    for key, title in (("p50_ms", "Latency p50, all messages, ms"), ("p99_ms", "Latency p99, all messages, ms"),
                       ("small_p50_ms", "Latency p50, messages < 50 KB, ms"),
                       ("small_p99_ms", "Latency p99, messages < 50 KB, ms"),
                       ("max_ms", "Latency max, all messages, ms")):
        w(per_metric(b, title, lambda s, c, k=key: b.med(s, c, k), servers=lat_servers))
    w(per_metric(b, "Server CPU seconds per 1,000 messages", b.cpu_per_1k, digits=2,
                 note="rawscan: CPU of the scan alone (no database load). clamav-milter+clamd: both processes."))
    w(per_metric(b, "Peak RSS, MB", b.rss_mb, digits=0,
                 servers=SERVERS + [("rawscan", "rawscan")],
                 note=f"rawscan holds the whole corpus in memory ({corpus_mb:.0f} MB) besides the engine; "
                      "the servers hold only the messages in flight."))
    w(per_metric(b, "Noise: CPU seconds used by the rest of the machine during the run", 
                 lambda s, c: b.med(s, c, "other_cpu_s"), digits=2,
                 note="Whole-machine busy time (/proc/stat) over the run minus the server's and miltergen's "
                      "(its corpus loading included; rawscan: minus its own, database load included). Anything well above 0 means something else "
                      "ran on the machine and the run's numbers are pessimistic."))
    rows = [[part] + [fmt(b.rss_mb("clamav", c, part), 0) for c in C] for part in ("clamd", "clamav-milter")]
    w("### Peak RSS of clamav-milter+clamd by process, MB\n\n" + table(["process"] + [f"c={c}" for c in C], rows) + "\n")

    # --- how
    w("## How it was run\n")
    w("```\n" + meta.get("command", "?") + "\n```\n")
    w(f"(invoked as `{meta.get('invoked_as', '?')}`; `make bench` runs `bash bench/run.sh` with the defaults). "
      f"Raw per-run lines: `{rel(raw)}`. "
      f"Failed or wrong-verdict runs: {meta.get('failures', '?')}.\n")
    w("scanmilter's configuration:\n")
    w("```\n" + "\n".join(l[4:] if l.startswith("    ") else l for l in conf) + "\n```")
    if extra["confmime"]:
        import difflib
        a = [l[4:] if l.startswith("    ") else l for l in conf]
        m = [l[4:] if l.startswith("    ") else l for l in extra["confmime"]]
        diff = [l for l in difflib.unified_diff(a, m, "scanmilter", "scanmilter-mime", n=0, lineterm="")]
        w("\nscanmilter-mime's configuration, as a difference from that one:\n")
        w("```diff\n" + "\n".join(diff) + "\n```")
    text = "\n".join(out) + "\n"
    if len(sys.argv) == 3:
        with open(sys.argv[2], "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
