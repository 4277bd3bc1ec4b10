#!/usr/bin/env python3
"""report.py - turn the raw lines of one bench/run.sh run into RESULTS.md.

    report.py RAW.txt [RESULTS.md]     (default: print to stdout)

RAW.txt (bench/results/raw-DATE.txt) holds "META key=value ..." lines about
the machine, corpus and command; "CONF ..." lines, the scanmilter config; and
one "RUN server=S c=C rep=R ... <miltergen or rawscan RESULT fields>" line per
run. Every figure reported is the median over the repetitions of that
server and concurrency (rawscan: threads). Python 3 standard library only.
"""

import re
import statistics
import sys
from collections import defaultdict

# META keys whose value is the rest of the line (it may hold spaces).
REST_OF_LINE = {"host_cpu", "scanmilter", "command", "invoked_as", "libclamav", "kernel"}

SERVERS = [
    ("scanmilter", "scanmilter"),
    ("clamav", "clamav-milter+clamd"),
    ("null", "nullmilter"),
]


def parse(path):
    meta, conf, runs = {}, [], defaultdict(list)
    noisy = []
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

    def ok_runs(self, server, c):
        return [d for d in self.runs.get((server, c), []) if "noresult" not in d and "status" not in d]

    def med(self, server, c, key):
        """Median over repetitions of one RESULT field (None when absent)."""
        if server == "rawscan":
            c = self.raw_j(c)
        vals = [num(d, key) for d in self.ok_runs(server, c)]
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

    def rate(self, server, c):
        return self.med(server, c, "files_per_s" if server == "rawscan" else "msgs_per_s")

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
    servers = servers or [("scanmilter", "scanmilter"), ("clamav", "clamav-milter+clamd"),
                          ("null", "nullmilter"), ("rawscan", "rawscan")]
    header = ["server"] + [f"c={c}" for c in b.conc]
    rows = []
    for key, label in servers:
        if key == "rawscan":
            label = "rawscan (-j min(c, %d))" % b.threads
        rows.append([label] + [fmt(getter(key, c), digits) for c in b.conc])
    s = f"### {title}\n\n" + table(header, rows) + "\n"
    if note:
        s += "\n" + note + "\n"
    return s


def verdict_line(ok, text):
    return f"- **{'met' if ok else 'MISSED'}** – {text}"


def targets(b):
    lines = []
    # 1. >= 95 % of rawscan at the same thread count
    for c in b.conc:
        r = ratio(b.rate("scanmilter", c), b.rate("rawscan", c))
        if r is None:
            lines.append(f"- **n/a** – c={c}: scanmilter ≥ 95% of rawscan -j {b.raw_j(c)}: no data")
            continue
        if r >= 0.95:
            lines.append(verdict_line(True, f"c={c}: scanmilter at {r:.1%} of rawscan -j {b.raw_j(c)} (target ≥ 95%)"))
        else:
            lines.append(verdict_line(False, f"c={c}: scanmilter at {r:.1%} of rawscan -j {b.raw_j(c)} (target ≥ 95%): "
                                             f"{(0.95 - r) * 100:.1f} points short, needs {0.95 / r - 1:+.1%} throughput"))
    # 2. >= clamav-milter+clamd
    for c in b.conc:
        r = ratio(b.rate("scanmilter", c), b.rate("clamav", c))
        if r is None:
            lines.append(f"- **n/a** – c={c}: scanmilter ≥ clamav-milter+clamd: no data")
            continue
        lines.append(verdict_line(r >= 1.0, f"c={c}: scanmilter throughput {r:.2f}× clamav-milter+clamd's (target ≥ 1.00×)"
                                  + ("" if r >= 1.0 else f": {1 - r:.1%} short")))
    # 3. median latency of < 50 KB messages at c=8 <= 1/3 of clamav's
    if 8 in b.conc:
        s, v = b.med("scanmilter", 8, "small_p50_ms"), b.med("clamav", 8, "small_p50_ms")
        if s is not None and v:
            lim = v / 3.0
            lines.append(verdict_line(s <= lim, f"c=8: median latency of messages < 50 KB {s:.1f} ms vs clamav-milter+clamd's "
                                      f"{v:.1f} ms = {s / v:.2f}× (target ≤ 0.33×, i.e. ≤ {lim:.1f} ms)"
                                      + ("" if s <= lim else f": {s - lim:.1f} ms ({s / lim - 1:.0%}) over")))
    else:
        lines.append("- **n/a** – median latency < 50 KB at c=8: concurrency 8 not measured")
    # 4. p99 no worse than clamav's at every concurrency
    for key, what in (("p99_ms", "all messages"), ("small_p99_ms", "messages < 50 KB")):
        for c in b.conc:
            s, v = b.med("scanmilter", c, key), b.med("clamav", c, key)
            if s is None or v is None:
                continue
            lines.append(verdict_line(s <= v, f"c={c}: p99 latency, {what}: {s:.1f} ms vs clamav-milter+clamd's {v:.1f} ms"
                                      + ("" if s <= v else f": {s - v:.1f} ms ({s / v - 1:.0%}) worse")))
    # 5. no connection waits longer than the timeout + 1 s
    lim = float(b.meta.get("av_timeout_s", 60)) + 1.0
    mx = b.worst("scanmilter", "max_ms")
    bad = sum(int(num(d, k) or 0) for (s, _), ds in b.runs.items() if s == "scanmilter" for d in ds
              for k in ("timeout", "connerr", "unsent", "tempfail"))
    if mx is not None:
        lines.append(verdict_line(mx / 1000.0 <= lim and bad == 0,
                                  f"longest wait of any message in any scanmilter run: {mx / 1000.0:.2f} s "
                                  f"(limit: timeout {lim - 1:.0f} s + 1 s = {lim:.0f} s); "
                                  f"timeouts/connection errors/unsent/tempfails: {bad}"))
    # 6. the same detections
    vbad = [f"{d['server']} c={d['c']} rep {d['rep']}: {d.get('verdicts', d.get('status', '?'))}"
            for ds in b.runs.values() for d in ds
            if d.get("server") != "null" and (d.get("verdicts") not in ("ok",) or d.get("rc") not in ("0",))]
    lines.append(verdict_line(not vbad, "every run of scanmilter, clamav-milter+clamd and rawscan rejected/found exactly "
                              "the MANIFEST's infected messages and answered all others"
                              + ("" if not vbad else ": " + "; ".join(vbad))))
    return "\n".join(lines)


def serial_info(b):
    """At c=1 nothing overlaps: receiving a message and scanning it follow each other."""
    if 1 not in b.conc:
        return ""
    raw, null, sm, cv = (b.rate(s, 1) for s in ("rawscan", "null", "scanmilter", "clamav"))
    if not raw or not null:
        return ""
    ceil = 1.0 / (1.0 / raw + 1.0 / null)
    return (f"At c=1 a milter that scans at end-of-message cannot overlap the transfer with the scan: "
            f"its ceiling is rawscan and nullmilter in series, 1/(1/{raw:.1f} + 1/{null:.1f}) = {ceil:.1f} msgs/s "
            f"= {ceil / raw:.1%} of rawscan -j 1. scanmilter reaches {fmt(ratio(sm, ceil), 3)} of that, "
            f"clamav-milter+clamd {fmt(ratio(cv, ceil), 3)}.")


def design_info(b):
    """DESIGN.md's mime_decompose/cache targets, for information (whole-message mode here)."""
    if 8 not in b.conc:
        return ""
    cpu = ratio(b.cpu_per_1k("scanmilter", 8), b.cpu_per_1k("clamav", 8))
    thr = ratio(b.rate("scanmilter", 8), b.rate("clamav", 8))
    return ("For information only – DESIGN.md's `mime_decompose` + cache targets (CPU per 1,000 messages "
            "≤ 0.6× and throughput ≥ 1.5× clamav-milter+clamd's at c=8) are not what this run measures: both "
            f"sides scan whole messages. At c=8 now: CPU {fmt(cpu, 2)}×, throughput {fmt(thr, 2)}×.")


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: report.py RAW.txt [RESULTS.md]")
    raw = sys.argv[1]
    meta, conf, runs, noisy = parse(raw)
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
    w(f"- scanmilter: CPU thread pool of **{T} threads (= cores)**, antivirus timeout {meta.get('av_timeout_s')} s, "
      "whole messages scanned from memory, limits as clamd's (config below)")
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

    w("## Targets\n")
    w("From DESIGN.md \"Performance targets\" and issue 3, judged on the medians above.\n")
    w(targets(b) + "\n")
    for info in (serial_info(b), design_info(b)):
        if info:
            w(info + "\n")

    # --- per metric
    w("## Per metric\n")
    w(per_metric(b, "Throughput, messages/s (rawscan: files/s)", b.rate))
    rows = []
    for key, label in SERVERS + [("rawscan", f"rawscan (-j min(c, {T}))")]:
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
                                ("nullmilter ÷ rawscan", "null", "rawscan")):
        rows.append([label] + [fmt(ratio(b.rate(num_s, c), b.rate(den_s, c)), 3) for c in C])
    w("### Throughput ratios\n\n" + table(["ratio"] + [f"c={c}" for c in C], rows) + "\n")
    lat_servers = SERVERS
    for key, title in (("p50_ms", "Latency p50, all messages, ms"), ("p99_ms", "Latency p99, all messages, ms"),
                       ("small_p50_ms", "Latency p50, messages < 50 KB, ms"),
                       ("small_p99_ms", "Latency p99, messages < 50 KB, ms"),
                       ("max_ms", "Latency max, all messages, ms")):
        w(per_metric(b, title, lambda s, c, k=key: b.med(s, c, k), servers=lat_servers))
    w(per_metric(b, "Server CPU seconds per 1,000 messages", b.cpu_per_1k, digits=2,
                 note="rawscan: CPU of the scan alone (no database load). clamav-milter+clamd: both processes."))
    w(per_metric(b, "Peak RSS, MB", b.rss_mb, digits=0,
                 servers=SERVERS + [("rawscan", "rawscan")]))
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
    text = "\n".join(out) + "\n"
    if len(sys.argv) == 3:
        with open(sys.argv[2], "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
