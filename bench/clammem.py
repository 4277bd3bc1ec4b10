#!/usr/bin/env python3
"""clammem.py - libclamav's own memory for one file, no milter: loads the
signatures of DBDIR into one engine (the daemon's clamav defaults:
max_file_size 100M, max_scan_size 400M, every parser on, heuristic alerts
and alert_exceeds_max on), then scans FILE with an mbox "From " line in
front (as the daemon hands a message over) by file descriptor, or from
memory (-m: a private copy on the heap, as cl_scanmap of a buffer), and
prints the process's RssAnon before and at its peak during the scan
(sampled every 20 ms from another thread).  -M turns libclamav's mail
parser off (CL_SCAN_PARSE_MAIL), to show what it costs; -r scans the
file as it is (no envelope line: a decoded part).  MAX_FILE_SIZE and
MAX_SCAN_SIZE in the environment (MiB) change those limits.

    clammem.py [-m] [-M] [-r] DBDIR FILE

Python standard library (ctypes) and libclamav only."""

import ctypes, ctypes.util, os, sys, tempfile, threading, time


class Options(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint32) for n in ("general", "parse", "heuristic", "mail", "dev")]


def anon():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def main():
    args = sys.argv[1:]
    memory = "-m" in args
    nomail = "-M" in args
    rawfile = "-r" in args
    args = [a for a in args if a not in ("-m", "-M", "-r")]
    if len(args) != 2:
        sys.exit(__doc__)
    dbdir, path = args
    cl = ctypes.CDLL(ctypes.util.find_library("clamav") or "libclamav.so.12")
    cl.cl_engine_new.restype = ctypes.c_void_p
    cl.cl_retver.restype = ctypes.c_char_p
    cl.cl_fmap_open_memory.restype = ctypes.c_void_p
    cl.cl_fmap_open_memory.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    cl.cl_fmap_close.argtypes = [ctypes.c_void_p]
    for f in ("cl_load", "cl_engine_compile", "cl_engine_set_num", "cl_engine_set_str",
              "cl_scandesc", "cl_scanmap_callback"):
        getattr(cl, f).restype = ctypes.c_int
    assert cl.cl_init(0) == 0
    eng = ctypes.c_void_p(cl.cl_engine_new())
    tmp = tempfile.mkdtemp(prefix="clammem.")
    cl.cl_engine_set_str(eng, 13, tmp.encode())         # CL_ENGINE_TMPDIR
    scan_mb = int(os.environ.get("MAX_SCAN_SIZE", "400"))
    file_mb = int(os.environ.get("MAX_FILE_SIZE", "100"))
    cl.cl_engine_set_num(eng, 0, ctypes.c_longlong(scan_mb << 20))   # MAX_SCANSIZE
    cl.cl_engine_set_num(eng, 1, ctypes.c_longlong(file_mb << 20))   # MAX_FILESIZE
    sigs = ctypes.c_uint(0)
    assert cl.cl_load(dbdir.encode(), eng, ctypes.byref(sigs), 0x2 | 0x8 | 0x2000) == 0  # CL_DB_STDOPT
    assert cl.cl_engine_compile(eng) == 0
    # the message as the daemon holds it: an envelope line, then the bytes
    spool = tempfile.TemporaryFile(dir=os.environ.get("TMPDIR", "/var/tmp"))
    if not rawfile:
        spool.write(b"From sender@example.com  Mon Dec  7 12:00:00 2026\r\n")
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            spool.write(b)
    spool.flush()
    size = spool.tell()
    buf = None
    if memory:
        spool.seek(0)
        buf = ctypes.create_string_buffer(spool.read(), size)
    opts = Options(general=0x4, parse=0xffffffff, heuristic=0x4)   # HEURISTICS, EXCEEDS_MAX
    if nomail:
        opts.parse &= ~0x40                                     # CL_SCAN_PARSE_MAIL
    time.sleep(0.5)
    idle = anon()
    peak = [idle]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], anon())
            time.sleep(0.02)

    t = threading.Thread(target=sample)
    t.start()
    virname = ctypes.c_char_p()
    scanned = ctypes.c_ulong()
    t0 = time.monotonic()
    if memory:
        m = cl.cl_fmap_open_memory(buf, size)
        rc = cl.cl_scanmap_callback(ctypes.c_void_p(m), None, ctypes.byref(virname),
                                    ctypes.byref(scanned), eng, ctypes.byref(opts), None)
        cl.cl_fmap_close(m)
    else:
        rc = cl.cl_scandesc(spool.fileno(), None, ctypes.byref(virname), ctypes.byref(scanned),
                            eng, ctypes.byref(opts))
    secs = time.monotonic() - t0
    done.set()
    t.join()
    print("LIBCLAMAV version=%s from=%s mail_parser=%s max_file_mb=%d max_scan_mb=%d bytes=%d sigs=%d rc=%d virus=%s idle_kb=%d peak_kb=%d secs=%.2f"
          % (cl.cl_retver().decode(), "memory" if memory else "fd",
             "off" if nomail else "on", file_mb, scan_mb, size, sigs.value, rc,
             (virname.value or b"-").decode(), idle, peak[0], secs))
    if not os.listdir(tmp):
        os.rmdir(tmp)


if __name__ == "__main__":
    main()
