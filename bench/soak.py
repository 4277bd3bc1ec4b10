#!/usr/bin/env python3
"""soak.py - the daemon under load and faults for a bounded time (make soak).

    soak.py --daemon BIN --ctl BIN --miltergen BIN --workdir DIR
            [--messages N] [--seconds S] [--concurrency 32] [--seed 1]
            [--corpus-count 1000] [--fault-every 2.0] [--timeout 10]
            [--min-faults 1] [--warmup 60] [--malloc-every S]
            [--env NAME=VALUE] [--asan] [--report FILE.md]  (--help: all)

Run it inside a private mount namespace (bench/soak.sh does: unshare
--mount): file_base is a small tmpfs mounted here.  Python 3 standard
library only.

What runs: the daemon (built with the test engine, so a scan can hang past
its timeout) with libclamav on signature set A (bench/mksigs.py, a small
bulk, EICAR and clam.exe) and the rules engine, under bench/miltergen at
--concurrency on the bench corpus (bench/mkcorpus.py) plus marker messages
only set B detects and messages whose test-engine scan hangs past the
timeout.  Meanwhile, at random moments from --seed, one fault at a time,
dealt from a shuffled deck of the kinds (each kind equally often):

  hup_burst      3-10 SIGHUPs 5-20 ms apart
  ctl_reload     scanmilterctl reload
  mode_switch    reload_mode = blocking in the config, reload, a SIGHUP or
                 two, back to concurrent, reload
  sig_swap       the signature directory exchanged (renameat2) with the
                 other set, reload; detections must follow
  rules_edit     a score in the rule file changed, reload (must succeed)
  rules_broken   the rule file replaced by a broken one, reload (must be
                 refused), put back, reload (must succeed)
  abort_header / abort_body / abort_eom
                 a connection dropped mid-header, mid-body, right after EOM
  slow_client    a message a byte every 150-400 ms (bounded), then dropped
  noread_client  a whole message whose reply is never read; held, dropped
  disk_full      file_base filled to the last byte for 1-4 s, then freed
and every --hang-every-th corpus entry is a message the test engine holds
past the timeout (X-Test-Delay).  The load is --messages at least, and goes
on (up to four times that, and --seconds) until every kind has been dealt
--min-faults times: a daemon that got faster does not shorten the faults.

Checked from miltergen's own per-message log (-L: start and end times):
every message answered; infected ones rejected, clean ones accepted,
marker messages as the signature set live while they were scanned (either
answer when the scan overlapped a swap); tempfail only for the hanging
scans, under a blocking reload ("reloading" reply), or while file_base was
full.  Infected mail accepted while file_base was full is counted on its
own line.  From /proc every 0.5 s: RSS, anonymous memory, descriptors,
threads; with --malloc-every, glibc's malloc_stats() through gdb (system
vs in-use bytes: the allocator's free memory vs a leak).  At the end
nothing in file_base and no deleted file under it held open; no growth of
descriptors or threads and RSS growth <= --rss-growth from the first tenth
of the load to the last (after --warmup, outside the blocking-reload and
full-file_base spells; not checked on fewer than 100 samples, nor RSS with
--asan); every fault kind at least --min-faults times; no sanitizer report
(ASan, UBSan, LeakSanitizer, ThreadSanitizer logs); a clean stop on
SIGTERM.  Prints a table; exit 0 if every check passed.
"""

import argparse
import collections
import ctypes
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
MARKER = b"SOAK-MARKER-SET-B-5f3a9c1e7d2b"
EICAR = "".join(["X5O!P%@AP[4\\PZX54(P^)7CC)7}$", "EICAR-STANDARD-",
                 "ANTIVIRUS-TEST-FILE!", "$H+H*"]).encode()
SWAP_MARGIN = 1.0    # s after a reload's answer still counted as the swap
FAULT_MARGIN = 1.0   # s around a full file_base or a blocking reload


def log(*a):
    print("soak: " + " ".join(str(x) for x in a), file=sys.stderr, flush=True)


# ---------------------------------------------------------------- set-up

def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


# threads of the pool the test engine scans in: every message passes it, and
# each hanging message holds one of them for the timeout + 5 s
HANG_THREADS = 8


def make_corpus(wd, count, seed, hang_every, hang_delay):
    """Corpus dir with MANIFEST; markers and hanging messages added."""
    cdir = os.path.join(wd, "corpus")
    stamp = os.path.join(cdir, ".made-%d-%d-%d-%d" % (count, seed, hang_every, hang_delay))
    if os.path.exists(stamp):
        return cdir
    shutil.rmtree(cdir, ignore_errors=True)
    run([sys.executable, os.path.join(HERE, "mkcorpus.py"), cdir, "--count", str(count),
         "--seed", str(seed)], stdout=subprocess.DEVNULL)
    n_marker = max(3, count // 100)
    n_hang = max(2, count // hang_every) if hang_every > 0 else 0
    extra = []
    for i in range(n_marker):
        name = "marker-%04d.eml" % i
        with open(os.path.join(cdir, name), "wb") as f:
            f.write(b"From: soak@example.org\r\nTo: rcpt@example.org\r\n"
                    b"Subject: marker %d\r\nMessage-ID: <m%d@soak.example>\r\n\r\n"
                    b"Only signature set B knows this line:\r\n%s %d\r\n"
                    % (i, i, MARKER, i))
        extra.append((name, "marker"))
    for i in range(n_hang):
        name = "hang-%04d.eml" % i
        with open(os.path.join(cdir, name), "wb") as f:
            f.write(b"X-Test-Delay: %dms\r\nFrom: soak@example.org\r\n"
                    b"To: rcpt@example.org\r\nSubject: hang %d\r\n\r\n"
                    b"The test engine holds this one past the timeout.\r\n"
                    % (hang_delay, i))
        extra.append((name, "hang"))
    with open(os.path.join(cdir, "MANIFEST"), "a") as f:
        for name, kind in extra:
            f.write("%s\t0\t%s\t%s\n" % (name, kind, kind))
    open(stamp, "w").close()
    return cdir


def make_sigs(wd, hashes, bodies):
    """Two signature directories: A, and B = A + the marker."""
    a, b = os.path.join(wd, "sigs"), os.path.join(wd, "sigs-other")
    for d in (a, b):
        shutil.rmtree(d, ignore_errors=True)
    run([sys.executable, os.path.join(HERE, "mksigs.py"), a, "--hashes", str(hashes),
         "--bodies", str(bodies)], stdout=subprocess.DEVNULL)
    shutil.copytree(a, b)
    with open(os.path.join(b, "soak-marker.ndb"), "w") as f:
        f.write("Soak.Marker.B:0:*:%s\n" % MARKER.hex())
    return a, b


_libc = ctypes.CDLL(None, use_errno=True)


def exchange(p1, p2):
    """renameat2(RENAME_EXCHANGE): both names stay, their contents swap at once."""
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    rc = _libc.renameat2(AT_FDCWD, p1.encode(), AT_FDCWD, p2.encode(), RENAME_EXCHANGE)
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), p1)


# ------------------------------------------------------ a tiny milter client

def pkt(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


class Milter:
    """MTA side of the milter protocol, enough to stop at any point."""

    def __init__(self, path, timeout=10.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.send(pkt(b"O", struct.pack(">III", 6, 0x1FF, 0)))
        self.reply()

    def send(self, data):
        self.s.sendall(data)

    def reply(self):
        """Reads packets up to a final one; returns its command byte."""
        while True:
            hdr = self._read(4)
            n = struct.unpack(">I", hdr)[0]
            body = self._read(n)
            if body[:1] not in (b"p",):
                return body[:1]

    def _read(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise ConnectionError("closed")
            b += c
        return b

    def step(self, cmd, data=b""):
        self.send(pkt(cmd, data))
        return self.reply()

    def hello(self, i):
        self.step(b"C", b"client.example\x004" + struct.pack(">H", 25000 + i % 1000)
                  + b"198.51.100.%d\x00" % (i % 250 + 1))
        self.step(b"H", b"soak.example\x00")

    def envelope(self, qid):
        self.send(pkt(b"D", b"Mi\x00" + qid.encode() + b"\x00"))
        self.step(b"M", b"<soak@example.org>\x00SIZE=12345\x00")
        self.step(b"R", b"<rcpt@example.org>\x00")

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def split_message(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    hdrs = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and hdrs:
            hdrs[-1] = (hdrs[-1][0], hdrs[-1][1] + b"\n" + line)
        elif b":" in line:
            k, _, v = line.partition(b":")
            hdrs.append((k, v.lstrip(b" ")))
    return hdrs, body


def fault_client(kind, sock, msg, i, stop):
    """One misbehaving client; returns what happened (for the table)."""
    hdrs, body = split_message(msg)
    m = None
    try:
        m = Milter(sock, timeout=30)
        m.hello(i)
        m.envelope("SOAK%06X" % i)
        if kind == "abort_header":
            for k, v in hdrs[:max(1, len(hdrs) // 2)]:
                m.step(b"L", k + b"\x00" + v + b"\x00")
            return "dropped"
        for k, v in hdrs:
            m.step(b"L", k + b"\x00" + v + b"\x00")
        m.step(b"N")
        if kind == "abort_body":
            half = body[:max(1, len(body) // 2)]
            for off in range(0, len(half), 65535):
                m.step(b"B", half[off:off + 65535])
            return "dropped"
        if kind == "slow_client":
            # a byte every 150-400 ms, bounded; then dropped without EOM
            data = pkt(b"B", body[:4096])
            rng = random.Random(i)
            t_end = time.time() + rng.uniform(5, 15)
            for off in range(len(data)):
                if stop.is_set() or time.time() > t_end:
                    break
                m.send(data[off:off + 1])
                time.sleep(rng.uniform(0.15, 0.4))
            return "dropped"
        for off in range(0, len(body), 65535):
            m.step(b"B", body[off:off + 65535])
        m.send(pkt(b"E"))
        if kind == "noread_client":
            # the reply is never read: held a while, then closed
            t_end = time.time() + random.Random(i).uniform(3, 10)
            while not stop.is_set() and time.time() < t_end:
                time.sleep(0.2)
            return "dropped"
        return "dropped"   # abort_eom: closed right after EOM
    except (OSError, ConnectionError) as e:
        return "error: %s" % e
    finally:
        if m is not None:
            m.close()


# ---------------------------------------------------------------- the soak

class Soak:
    def __init__(self, a):
        self.a = a
        self.wd = a.workdir
        self.rng = random.Random(a.seed)
        self.events = []            # dicts: kind, t0, t1, ok, info
        self.swaps = []             # (t0, t1, new_set)
        self.disk = []              # (t0, t1)
        self.blocking = []          # (t0, t1) while reload_mode = blocking
        self.samples = []           # (t, rss_kb, anon_kb, fds, threads, fb_kb)
        self.mallocs = []           # (t, system_kb, in_use_kb, arenas): malloc_stats()
        self.fault_threads = []
        self.stop = threading.Event()
        self.mode = "concurrent"
        self.live_set = "A"
        self.reload_fail = []       # reloads that answered differently than expected

    # -- files
    def conf_text(self):
        a = self.a
        return """milter {
  listen = "unix:%(wd)s/run/scanmilter.sock"
  socket_mode = 0666
  file_base = "%(fb)s"
  hostname = "scanner.test"
  log_level = info
  log_clean = no
  reload_mode = %(mode)s
  auto_reload_interval = 5s
}
control {
  listen = "unix:%(wd)s/run/control.sock"
  reload_interval = 0
}
threadpool "hang" { concurrency = %(hang_threads)d }
antivirus "antivirus1" {
  action = "reject"
  timeout = %(timeout)ds
  clamav "clamav1" { database_directory = "%(sigs)s" }
  test "t1" { pool = "hang" }
}
antispam "antispam1" {
  action = "pass"
  rules "rules1" {
    config_path = "%(wd)s/rules.xml"
    schema_path = "%(top)s/etc/rules.rng"
  }
}
""" % dict(wd=self.wd, fb=self.fb, mode=self.mode, timeout=a.timeout,
           hang_threads=HANG_THREADS,
           sigs=self.sigs, top=TOP)

    def write_conf(self):
        tmp = self.conf + ".tmp"
        with open(tmp, "w") as f:
            f.write(self.conf_text())
        os.replace(tmp, self.conf)

    def setup(self):
        a = self.a
        os.makedirs(os.path.join(self.wd, "run"), exist_ok=True)
        for f in os.listdir(os.path.join(self.wd, "run")):   # an earlier run's
            os.unlink(os.path.join(self.wd, "run", f))
        os.makedirs(os.path.join(self.wd, "san"), exist_ok=True)
        for f in os.listdir(os.path.join(self.wd, "san")):
            os.unlink(os.path.join(self.wd, "san", f))
        log("corpus (%d messages) and signatures" % a.corpus_count)
        self.corpus = make_corpus(self.wd, a.corpus_count, a.seed, a.hang_every,
                                  (a.timeout + 5) * 1000)
        self.kind = {}
        with open(os.path.join(self.corpus, "MANIFEST")) as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                if len(p) >= 3:
                    self.kind[p[0]] = "hang" if p[2] == "hang" else (
                        "marker" if p[2] == "marker" else p[2])
        self.sigs, self.sigs_other = make_sigs(self.wd, a.hashes, a.bodies)
        self.rules = os.path.join(self.wd, "rules.xml")
        shutil.copy(os.path.join(TOP, "etc/rules.xml"), self.rules)
        self.rules_good = open(self.rules).read()
        self.rules_broken = open(os.path.join(TOP, "t/data/rules/bad-notwf.xml")).read()
        self.fb = os.path.join(self.wd, "fb")
        os.makedirs(self.fb, exist_ok=True)
        if os.path.ismount(self.fb):
            run(["umount", self.fb])
        run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0700" % a.tmpfs_mb, "tmpfs", self.fb])
        self.conf = os.path.join(self.wd, "scanmilter.conf")
        self.write_conf()
        self.sock = os.path.join(self.wd, "run/scanmilter.sock")
        self.ctlsock = os.path.join(self.wd, "run/control.sock")
        # messages the fault clients send (a clean one of each size class)
        names = sorted(n for n in self.kind if self.kind[n] == "clean")
        self.fault_msgs = []
        for n in names[:40]:
            with open(os.path.join(self.corpus, n), "rb") as f:
                self.fault_msgs.append(f.read())

    def start_daemon(self):
        env = dict(os.environ)
        san = os.path.join(self.wd, "san")
        env["ASAN_OPTIONS"] = "log_path=%s/asan:detect_leaks=1:abort_on_error=0" % san
        env["UBSAN_OPTIONS"] = "log_path=%s/ubsan:print_stacktrace=1" % san
        env["TSAN_OPTIONS"] = ("halt_on_error=0 report_signal_unsafe=0 history_size=3 exitcode=0 "
                               "log_path=%s/tsan suppressions=%s/t/tsan/suppressions"
                               % (san, TOP))
        if self.a.arena_max:
            env["MALLOC_ARENA_MAX"] = str(self.a.arena_max)
        for kv in self.a.env:
            k, _, v = kv.partition("=")
            env[k] = v
        self.dlog = open(os.path.join(self.wd, "scanmilter.log"), "wb")
        self.daemon = subprocess.Popen([self.a.daemon, "-f", "-c", self.conf],
                                       stdin=subprocess.DEVNULL, stdout=self.dlog,
                                       stderr=self.dlog, env=env)
        t_end = time.time() + 120
        while time.time() < t_end and not os.path.exists(self.sock):
            if self.daemon.poll() is not None:
                break
            time.sleep(0.1)
        if not os.path.exists(self.sock):
            raise SystemExit("soak: the daemon did not start (see %s/scanmilter.log)" % self.wd)

    def ctl(self, *args, timeout=120):
        try:
            p = subprocess.run([self.a.ctl, "-s", self.ctlsock, "-t", str(timeout)] + list(args),
                               capture_output=True, text=True, timeout=timeout + 10)
            return p.returncode, p.stdout + p.stderr
        except subprocess.TimeoutExpired:
            return 124, "timed out"

    # -- sampling
    def sample(self):
        pid = self.daemon.pid
        try:
            st = open("/proc/%d/status" % pid).read()
            fds = len(os.listdir("/proc/%d/fd" % pid))
        except OSError:
            return
        def field(n):
            m = re.search(r"^%s:\s+(\d+)" % n, st, re.M)
            return int(m.group(1)) if m else 0
        fb = shutil.disk_usage(self.fb)
        self.samples.append((time.time(), field("VmRSS"), field("RssAnon"), fds,
                             field("Threads"), (fb.used) // 1024))

    def sampler(self):
        next_malloc = time.time() + self.a.warmup
        while not self.stop.is_set():
            self.sample()
            if self.a.malloc_every and time.time() >= next_malloc:
                self.malloc_sample()
                next_malloc = time.time() + self.a.malloc_every
            self.stop.wait(0.5)

    def malloc_sample(self):
        """glibc's malloc_stats() in the daemon (gdb attaches for a moment;
        it prints to the daemon's stderr): bytes the allocator holds from
        the system vs bytes the program has allocated.  In use flat while
        system bytes grow is the allocator keeping freed memory, not a leak."""
        t = time.time()
        logf = os.path.join(self.wd, "scanmilter.log")
        try:
            subprocess.run(["gdb", "-p", str(self.daemon.pid), "-batch", "-nx",
                            "-ex", "call (void)malloc_stats()"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return
        time.sleep(0.2)
        text = open(logf, "rb").read()[-200000:].decode(errors="replace")
        i = text.rfind("Total (incl. mmap):")
        m = re.search(r"system bytes\s*=\s*(\d+)\s*in use bytes\s*=\s*(\d+)", text[i:]) \
            if i >= 0 else None
        arenas = len(re.findall(r"^Arena \d+:", text[text.rfind("Arena 0:"):], re.M))
        if m:
            self.mallocs.append((t, int(m.group(1)) // 1024, int(m.group(2)) // 1024, arenas))

    # -- faults
    def event(self, kind, t0, ok=True, info=""):
        self.events.append(dict(kind=kind, t0=t0, t1=time.time(), ok=ok, info=info))

    def reload_expect(self, kind, want_ok):
        rc, out = self.ctl("reload")
        ok = (rc == 0) == want_ok
        if not ok:
            self.reload_fail.append("%s: reload rc=%d (%s)" % (kind, rc, out.strip()[:200]))
        return rc == 0

    def f_hup_burst(self):
        t0 = time.time()
        n = self.rng.randint(3, 10)
        for _ in range(n):
            os.kill(self.daemon.pid, signal.SIGHUP)
            time.sleep(self.rng.uniform(0.005, 0.02))
        self.event("hup_burst", t0, info=str(n))

    def f_ctl_reload(self):
        t0 = time.time()
        ok = self.reload_expect("ctl_reload", True)
        self.event("ctl_reload", t0, ok)

    def f_mode_switch(self):
        """A spell of reload_mode = blocking: the config switched and
        reloaded (a blocking reload), a SIGHUP or two in that mode, then
        back to concurrent.  Tempfails saying "reloading" are expected in
        the whole window."""
        t0 = time.time()
        ok = True
        try:
            self.mode = "blocking"
            self.write_conf()
            ok = self.reload_expect("mode_switch to blocking", True)
            for _ in range(self.rng.randint(1, 2)):
                os.kill(self.daemon.pid, signal.SIGHUP)
                time.sleep(self.rng.uniform(0.5, 2))
        finally:
            self.mode = "concurrent"
            self.write_conf()
            ok = self.reload_expect("mode_switch back to concurrent", True) and ok
            self.blocking.append((t0, time.time() + FAULT_MARGIN))
        self.event("mode_switch", t0, ok)

    def f_sig_swap(self):
        t0 = time.time()
        exchange(self.sigs, self.sigs_other)
        self.live_set = "B" if self.live_set == "A" else "A"
        ok = self.reload_expect("sig_swap", True)
        t1 = time.time()
        if not ok:   # not live yet: the next successful reload ends it
            for _ in range(5):
                if self.reload_expect("sig_swap retry", True):
                    break
            t1 = time.time()
        self.swaps.append((t0, t1 + SWAP_MARGIN, self.live_set))
        self.event("sig_swap", t0, ok, "now " + self.live_set)

    def f_rules_edit(self):
        t0 = time.time()
        text = self.rules_good
        n = self.rng.randint(1, 9)
        # the first score="N" becomes another number: a valid edit
        text = re.sub(r'score="-?\d+"', 'score="%d"' % n, text, count=1)
        with open(self.rules + ".tmp", "w") as f:
            f.write(text)
        os.replace(self.rules + ".tmp", self.rules)
        ok = self.reload_expect("rules_edit", True)
        self.event("rules_edit", t0, ok, "score %d" % n)

    def f_rules_broken(self):
        t0 = time.time()
        with open(self.rules + ".tmp", "w") as f:
            f.write(self.rules_broken)
        os.replace(self.rules + ".tmp", self.rules)
        refused = self.reload_expect("rules_broken (must be refused)", False)
        time.sleep(self.rng.uniform(0.2, 2))
        with open(self.rules + ".tmp", "w") as f:
            f.write(self.rules_good)
        os.replace(self.rules + ".tmp", self.rules)
        back = self.reload_expect("rules_broken put back", True)
        self.event("rules_broken", t0, (not refused) and back)

    def f_client(self, kind):
        t0 = time.time()
        n = self.rng.randint(1, 3)
        for j in range(n):
            msg = self.rng.choice(self.fault_msgs)
            i = self.rng.randrange(1 << 24)
            res = {}
            th = threading.Thread(target=lambda k=kind, m=msg, i=i, r=res:
                                  r.setdefault("r", fault_client(k, self.sock, m, i, self.stop)),
                                  daemon=True)
            th.start()
            self.fault_threads.append((kind, th, res))
        self.event(kind, t0, info=str(n))
        return n

    def f_disk_full(self):
        t0 = time.time()
        filler = os.path.join(self.fb, ".soak-filler")
        info = ""
        try:
            with open(filler, "wb", buffering=0) as f:
                free = shutil.disk_usage(self.fb).free
                try:
                    os.posix_fallocate(f.fileno(), 0, max(free - 65536, 4096))
                except OSError:
                    pass
                f.seek(0, os.SEEK_END)
                # the last bytes, one page then one byte at a time
                for size in (4096, 1):
                    try:
                        while f.write(b"\0" * size):
                            pass
                    except OSError:
                        pass
                info = "free %d B" % shutil.disk_usage(self.fb).free
            time.sleep(self.rng.uniform(1, 4))
        finally:
            try:
                os.unlink(filler)
            except OSError:
                pass
            self.disk.append((t0 - FAULT_MARGIN, time.time() + FAULT_MARGIN))
        self.event("disk_full", t0, info=info)

    KINDS = [("hup_burst", 1), ("ctl_reload", 1), ("mode_switch", 1), ("sig_swap", 1),
             ("rules_edit", 1), ("rules_broken", 1), ("abort_header", 1), ("abort_body", 1),
             ("abort_eom", 1), ("slow_client", 1), ("noread_client", 1), ("disk_full", 1)]

    def injector(self):
        # a shuffled deck of the kinds (weights = copies): every kind comes
        # up in each round of sum(weights) faults, in random order
        deck = []
        while not self.stop.is_set():
            if self.stop.wait(self.rng.expovariate(1.0 / self.a.fault_every)):
                break
            if not deck:
                deck = [k for k, w in self.KINDS for _ in range(w)]
                self.rng.shuffle(deck)
            k = deck.pop()
            try:
                if k.startswith(("abort_", "slow_", "noread_")):
                    self.f_client(k)
                else:
                    getattr(self, "f_" + k)()
            except Exception as e:   # a fault that could not be injected is a failure
                self.event(k, time.time(), False, "exception: %r" % e)
            self.enough_faults()
        self.fault_threads_join()

    def enough_faults(self):
        """Every kind dealt --min-faults times: the load may end once its
        --messages are out (miltergen -U, told by SIGUSR1)."""
        if self.told_enough:
            return
        n = collections.Counter(e["kind"] for e in self.events)
        if all(n[k] >= self.a.min_faults for k, _ in self.KINDS):
            self.told_enough = time.time()
            try:
                self.gen.send_signal(signal.SIGUSR1)
            except OSError:
                pass

    def fault_threads_join(self):
        for _, th, _ in self.fault_threads:
            th.join(timeout=60)

    # -- the run
    def run(self):
        a = self.a
        self.setup()
        self.start_daemon()
        log("daemon pid %d; miltergen c=%d n=%d for at most %d s"
            % (self.daemon.pid, a.concurrency, a.messages, a.seconds))
        timeline = os.path.join(self.wd, "timeline.csv")
        gen_out = open(os.path.join(self.wd, "miltergen.out"), "w")
        samp = threading.Thread(target=self.sampler, daemon=True)
        samp.start()
        self.t_load0 = time.time()
        gen = subprocess.Popen([a.miltergen, "-s", "unix:" + self.sock, "-c", str(a.concurrency),
                                "-n", str(a.messages), "-U", str(a.messages * 4),
                                "-T", str(a.seconds), "-t", "120",
                                "-P", str(a.tempfail_pause_ms),
                                "-L", timeline, self.corpus], stdout=gen_out,
                               stderr=subprocess.STDOUT)
        self.gen, self.told_enough = gen, None
        inj = threading.Thread(target=self.injector, daemon=True)
        inj.start()
        try:
            gen.wait(timeout=a.seconds + 600)
        except subprocess.TimeoutExpired:
            gen.kill()
            gen.wait()
        self.t_load1 = time.time()
        self.stop.set()
        inj.join(timeout=300)
        self.fault_threads_join()
        self.gen_rc = gen.returncode
        # settle, then what is left
        time.sleep(3)
        self.sample()
        if self.a.malloc_every:
            self.malloc_sample()     # idle, after the load
        self.leftover_files = []
        for root, _, files in os.walk(self.fb):
            self.leftover_files += [os.path.join(root, f) for f in files]
        self.leftover_fds = []
        fd_dir = "/proc/%d/fd" % self.daemon.pid
        for fd in os.listdir(fd_dir):
            try:
                t = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if t.startswith(self.fb):
                self.leftover_fds.append(t)
        self.fb_used_kb = shutil.disk_usage(self.fb).used // 1024
        self.version = self.ctl("version")[1]
        self.stats = self.ctl("stats")[1]
        self.daemon.send_signal(signal.SIGTERM)
        try:
            self.daemon_rc = self.daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
            self.daemon_rc = "killed"
        run(["umount", self.fb])
        return self.analyse(timeline)

    # -- analysis
    def set_at(self, t0, t1):
        """'A', 'B', or None when [t0, t1] overlaps a swap."""
        cur = "A"
        for s0, s1, new in self.swaps:
            if t1 >= s0 and t0 <= s1:
                return None
            if s1 < t0:
                cur = new
        return cur

    @staticmethod
    def overlaps(wins, t0, t1):
        return any(t1 >= w0 and t0 <= w1 for w0, w1 in wins)

    def analyse(self, timeline):
        rows = []
        import csv
        with open(timeline, newline="") as f:
            for r in csv.DictReader(f):
                rows.append(r)
        answers = collections.Counter()
        by_kind = collections.Counter()
        bad = collections.Counter()
        examples = collections.defaultdict(list)
        explained = collections.Counter()
        # the spans in which a hanging message holds a thread of the test
        # engine's pool (from its start to the end of its X-Test-Delay)
        hold = (self.a.timeout + 5)
        hangs = [(float(r["start"]), float(r["start"]) + hold) for r in rows
                 if self.kind.get(os.path.basename(r["file"])) == "hang"]
        known_open = 0
        for r in rows:
            name = os.path.basename(r["file"])
            kind = self.kind.get(name, "clean")
            t0, t1 = float(r["start"]), float(r["end"])
            v = r["verdict"].split("+")[0]
            text = r["reply"]
            answers[v] += 1
            by_kind[kind] += 1
            if kind == "marker":
                live = self.set_at(t0, t1)
                want = {"A": "accept", "B": "reject", None: None}[live]
                kind_label = "marker (set %s)" % (live or "A/B swapping")
            else:
                want = {"clean": "accept", "infected": "reject", "hang": "tempfail"}[kind]
                kind_label = kind
            disk = self.overlaps(self.disk, t0, t1)
            block = self.overlaps(self.blocking, t0, t1)
            ok = False
            if v in ("connerr", "timeout", "other", "continue", "discard"):
                ok = False
            elif want is None and v in ("accept", "reject"):
                ok = True
            elif v == want:
                ok = True
            elif v == "tempfail":
                if disk:
                    ok = True
                    explained["file_base full"] += 1
                elif block and "reloading" in text:
                    ok = True
                    explained["blocking reload"] += 1
                elif "timed out" in text and sum(
                        1 for h0, h1 in hangs if h0 <= t1 and h1 >= t0) >= HANG_THREADS:
                    # every thread of the test engine's pool held by a
                    # hanging message: what a hung engine does to the
                    # mail behind it (answered 451, never lost)
                    ok = True
                    explained["test engine's pool held by hanging scans"] += 1
            elif v == "accept" and kind in ("infected", "marker") and disk:
                known_open += 1
                ok = False
            if not ok:
                key = "%s -> %s" % (kind_label, v)
                bad[key] += 1
                if len(examples[key]) < 3:
                    examples[key].append("%s %s %.3f-%.3f %s" % (r["n"], name, t0, t1, text))
        if by_kind["hang"]:
            explained["hanging engine (timeout)"] = sum(
                1 for r in rows if self.kind.get(os.path.basename(r["file"])) == "hang"
                and r["verdict"] == "tempfail")
        gen = open(os.path.join(self.wd, "miltergen.out")).read()
        m = re.search(r"^RESULT .*", gen, re.M)
        result = dict(kv.split("=", 1) for kv in m.group(0).split()[1:]) if m else {}
        return self.report(rows, answers, by_kind, bad, examples, explained, known_open, result)

    def tenths(self):
        # like with like: from --warmup s into the load (glibc's arenas
        # fill over the first minute), and outside the spells of a blocking
        # reload or a full file_base, when the daemon answers "try again"
        # at once and holds few messages
        s = [x for x in self.samples
             if self.t_load0 + self.a.warmup <= x[0] <= self.t_load1
             and not self.overlaps(self.blocking + self.disk, x[0], x[0])]
        if len(s) < 10:
            return None
        k = max(1, len(s) // 10)
        return s, s[:k], s[-k:]

    def report(self, rows, answers, by_kind, bad, examples, explained, known_open, result):
        a = self.a
        checks = []

        def check(name, ok, detail=""):
            checks.append((name, bool(ok), detail))

        sent = len(rows)
        done = int(result.get("done", 0))
        check("messages answered (miltergen's log: connerr, timeout = 0)",
              sent > 0 and answers["connerr"] == 0 and answers["timeout"] == 0
              and answers["other"] == 0,
              "%d sent, %d answered, connerr %d, timeout %d, other %d"
              % (sent, done, answers["connerr"], answers["timeout"], answers["other"]))
        check("at least --messages sent within --seconds", sent >= a.messages,
              "%d sent of %d%s" % (sent, a.messages, "" if not self.told_enough else
                                   ", every fault kind %d times by %.0f s into the load"
                                   % (a.min_faults, self.told_enough - self.t_load0)))
        check("every answer right for the signature set and faults", sum(bad.values()) == 0,
              "%d wrong" % sum(bad.values()))
        check("infected accepted while file_base was full (fails open)", known_open == 0,
              "%d" % known_open)
        fk = collections.Counter(e["kind"] for e in self.events)
        fk["hang (X-Test-Delay)"] = by_kind["hang"]
        failed_faults = [e for e in self.events if not e["ok"]]
        check("every fault injected as meant (reloads answered as expected)",
              not failed_faults and not self.reload_fail,
              "; ".join(self.reload_fail[:3] + ["%s: %s" % (e["kind"], e["info"])
                                                 for e in failed_faults[:3]]))
        check("nothing left in file_base (files, open deleted files)",
              not self.leftover_files and not self.leftover_fds,
              "%d files, %d open, %d KiB used" % (len(self.leftover_files),
                                                 len(self.leftover_fds), self.fb_used_kb))
        # the load alone must leave file_base clear of the clamav engine's
        # reserve (min_free_space, 64 MiB, or a tenth of the filesystem if
        # less): else clean mail is refused for want of space no fault
        # made, and the tmpfs is too small for the load (--tmpfs-mb)
        size_kb = a.tmpfs_mb * 1024
        reserve_kb = min(64 * 1024, size_kb // 10)
        own = [x[5] for x in self.samples if not self.overlaps(self.disk, x[0], x[0])]
        peak = max(own) if own else 0
        check("file_base clear of the engine's reserve outside the fills (else --tmpfs-mb "
              "is too small for the load)", peak < size_kb - reserve_kb,
              "peak %d KiB of %d, reserve %d" % (peak, size_kb, reserve_kb))
        tt = self.tenths()
        curves = {}
        if tt:
            s, first, last = tt
            def med(v):
                v = sorted(v)
                return v[len(v) // 2]
            for idx, name in ((1, "rss_kb"), (2, "anon_kb"), (3, "fds"), (4, "threads")):
                curves[name] = (med([x[idx] for x in first]), med([x[idx] for x in last]),
                                max(x[idx] for x in s))
            f0, f1, _ = curves["fds"]
            th0, th1, _ = curves["threads"]
            r0, r1, _ = curves["rss_kb"]
            growth = (r1 - r0) / r0 if r0 else 0
            # a tenth of a short run is a few samples: what happens to be
            # in flight then, not a trend
            few = len(s) < 100
            if few:	# said, not counted as a pass
                log("descriptors, threads, RSS not judged: %d samples, under 100 (fds %d -> "
                    "%d, threads %d -> %d, RSS %+.1f%%)" % (len(s), f0, f1, th0, th1,
                                                            growth * 100))
            else:
                check("no descriptor growth (median, first tenth vs last)",
                      f1 <= max(f0, 1) * 1.10 + 5, "%d -> %d" % (f0, f1))
                check("no thread growth (median, first tenth vs last)", th1 <= th0 * 1.10 + 4,
                      "%d -> %d" % (th0, th1))
            if few:
                pass
            elif a.asan:
                log("RSS growth not judged under ASan (its quarantine): %+.1f%%"
                    % (growth * 100))
            else:
                check("RSS growth <= %d%% (median, first tenth vs last)" % (a.rss_growth * 100),
                      growth <= a.rss_growth, "%d -> %d KiB (%+.1f%%)" % (r0, r1, growth * 100))
        else:
            # a short run on a slow (sanitizer) daemon may spend most of
            # its samples in fault spells: then there is no curve to judge,
            # which is said, not counted as a pass
            log("resource curves not judged: under 10 samples outside the "
                "warm-up and the fault spells (%d in all)" % len(self.samples))
        san = self.sanitizer_reports()
        check("sanitizer reports", san == 0, "%d (and %d of libmilter's alone, not counted)"
              % (san, self.libmilter_reports))
        check("daemon stopped cleanly on SIGTERM", self.daemon_rc == 0, str(self.daemon_rc))
        short = [k for k, _ in self.KINDS if fk[k] < a.min_faults] + (
            ["hang"] if by_kind["hang"] < a.min_faults else [])
        check("every fault kind injected at least %d times" % a.min_faults, not short,
              ", ".join(short))

        out = []
        w = out.append
        w("## Soak: %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.t_load0)))
        w("")
        w("daemon `%s`, concurrency %d, seed %d, corpus %d files, load %.0f s, %s msgs/s"
          % (os.path.relpath(a.daemon, TOP) if a.daemon.startswith(TOP) else a.daemon,
             a.concurrency, a.seed, len(self.kind), self.t_load1 - self.t_load0,
             result.get("msgs_per_s", "?")))
        w("")
        w("| messages | count |")
        w("|---|---:|")
        w("| asked for, at least (SOAK_MESSAGES) | %d |" % a.messages)
        w("| sent | %d |" % sent)
        for k in ("clean", "infected", "marker", "hang"):
            w("| sent: %s | %d |" % (k, by_kind[k]))
        w("")
        w("| answers | count |")
        w("|---|---:|")
        for v in ("accept", "reject", "tempfail", "discard", "continue", "other", "connerr",
                  "timeout"):
            w("| %s | %d |" % (v, answers[v]))
        for k, n in sorted(explained.items()):
            w("| tempfail explained: %s | %d |" % (k, n))
        for k, n in sorted(bad.items()):
            w("| WRONG: %s | %d |" % (k, n))
        w("")
        w("| faults injected | count |")
        w("|---|---:|")
        for k, _ in self.KINDS:
            w("| %s | %d |" % (k, fk[k]))
        w("| hang (X-Test-Delay past the timeout) | %d |" % by_kind["hang"])
        hups = sum(int(e["info"]) for e in self.events if e["kind"] == "hup_burst")
        w("| (SIGHUPs in the bursts) | %d |" % hups)
        w("")
        if curves:
            w("%d of %d samples (every 0.5 s) after the warm-up of %.0f s and outside the "
              "fault spells:" % (len(tt[0]), len(self.samples), a.warmup))
            w("")
            w("| resource | first tenth (median) | last tenth (median) | max |")
            w("|---|---:|---:|---:|")
            for name in ("rss_kb", "anon_kb", "fds", "threads"):
                c = curves[name]
                w("| %s | %d | %d | %d |" % (name, c[0], c[1], c[2]))
            w("")
            w("curve (each tenth of the load after the warm-up, outside blocking-reload and "
              "full-file_base spells: median rss_kb / anon_kb / fds / threads, max rss_kb):")
            w("")
            s = tt[0]
            k = max(1, len(s) // 10)
            for i in range(10):
                part = s[i * k:(i + 1) * k] if i < 9 else s[9 * k:]
                if not part:
                    continue
                meds = [sorted(x[j] for x in part)[len(part) // 2] for j in (1, 2, 3, 4)]
                w("    %2d  %8d %8d %5d %4d  %8d" % (i + 1, *meds, max(x[1] for x in part)))
            w("")
        if self.mallocs:
            w("glibc malloc_stats() of the daemon (gdb), KiB: the allocator's system bytes "
              "vs bytes in use; the last line is idle, after the load:")
            w("")
            w("| s into the load | arenas | system KiB | in use KiB |")
            w("|---:|---:|---:|---:|")
            for t, sysb, used, ar in self.mallocs:
                w("| %.0f | %d | %d | %d |" % (t - self.t_load0, ar, sysb, used))
            w("")
        w("| check | result | detail |")
        w("|---|---|---|")
        for name, ok, detail in checks:
            w("| %s | %s | %s |" % (name, "ok" if ok else "FAILED", detail))
        for key, ex in examples.items():
            w("")
            w("wrong: %s, e.g.:" % key)
            for e in ex:
                w("    " + e)
        text = "\n".join(out) + "\n"
        print(text)
        with open(os.path.join(self.wd, "report.md"), "w") as f:
            f.write(text)
        with open(os.path.join(self.wd, "samples.json"), "w") as f:
            json.dump({"samples": self.samples, "malloc": self.mallocs}, f)
        with open(os.path.join(self.wd, "events.json"), "w") as f:
            json.dump(self.events, f)
        if a.report:
            with open(a.report, "w") as f:
                f.write(text)
        # the plain closing line test runners read
        npass = sum(1 for c in checks if c[1])
        print("soak: %d passed, %d failed" % (npass, len(checks) - npass))
        return 0 if npass == len(checks) else 1

    def libmilter_only(self, data, line):
        """A ThreadSanitizer report whose access stacks are libmilter's
        alone (every frame in libmilter or the sanitizer's interceptors,
        none of ours): libmilter's own teardown (its pool controller
        destroys the workers' mutex and condition at exit while a worker
        still waits on them).  Debian's libmilter has no symbols to name in
        t/tsan/suppressions, so it is recognised here; counted apart."""
        i = data.find(line)
        block = data[i:data.find(b"==================", i)]
        frames = []
        for l in block.splitlines()[1:]:
            if l.lstrip().startswith((b"Location is", b"Mutex ", b"Thread T")):
                break
            if l.lstrip().startswith(b"#"):
                frames.append(l)
        if frames and all(b"libmilter.so" in f or b"libtsan.so" in f for f in frames):
            self.libmilter_reports += 1
            return True
        return False

    def sanitizer_reports(self):
        n = 0
        self.libmilter_reports = 0
        pat = re.compile(rb"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                         rb"WARNING: ThreadSanitizer")
        san = os.path.join(self.wd, "san")
        paths = [os.path.join(san, f) for f in os.listdir(san)]
        paths.append(os.path.join(self.wd, "scanmilter.log"))
        self.san_lines = []
        for p in paths:
            try:
                data = open(p, "rb").read()
            except OSError:
                continue
            for line in data.splitlines():
                if pat.search(line):
                    if b"ThreadSanitizer" in line and self.libmilter_only(data, line):
                        continue
                    n += 1
                    if len(self.san_lines) < 10:
                        self.san_lines.append(line.decode(errors="replace"))
        for line in self.san_lines:
            log("sanitizer:", line)
        return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--miltergen", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--seconds", type=int, default=2400)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus-count", type=int, default=1000)
    ap.add_argument("--hashes", type=int, default=20000)
    ap.add_argument("--bodies", type=int, default=2000)
    ap.add_argument("--fault-every", type=float, default=2.0, help="mean seconds between faults")
    ap.add_argument("--hang-every", type=int, default=400,
                    help="one hanging message per this many corpus files")
    ap.add_argument("--timeout", type=int, default=10, help="the scan timeout, s")
    ap.add_argument("--tempfail-pause-ms", type=int, default=500,
                    help="a miltergen worker waits this long after a tempfail (an MTA defers)")
    ap.add_argument("--warmup", type=float, default=60,
                    help="s of load before the first tenth of the resource curves")
    ap.add_argument("--malloc-every", type=float, default=0,
                    help="s between malloc_stats() samples of the daemon through gdb (0: none)")
    ap.add_argument("--tmpfs-mb", type=int, default=512,
                    help="file_base's size: room for every message in flight "
                    "and its engines' files, above clamav's reserve")
    ap.add_argument("--min-faults", type=int, default=1)
    ap.add_argument("--rss-growth", type=float, default=0.10)
    ap.add_argument("--arena-max", type=int, default=0, help="MALLOC_ARENA_MAX for the daemon")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="more environment for the daemon (e.g. glibc's MALLOC_* tunables)")
    ap.add_argument("--asan", action="store_true",
                    help="the daemon has a sanitizer (ASan or TSan): no RSS check")
    ap.add_argument("--report", help="also write the table here")
    a = ap.parse_args()
    for p in (a.daemon, a.ctl, a.miltergen):
        if not os.access(p, os.X_OK):
            raise SystemExit("soak: no %s (build first)" % p)
    os.makedirs(a.workdir, exist_ok=True)
    a.workdir = os.path.abspath(a.workdir)
    sys.exit(Soak(a).run())


if __name__ == "__main__":
    main()
