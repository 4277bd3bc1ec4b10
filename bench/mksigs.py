#!/usr/bin/env python3
"""mksigs.py - deterministic synthetic ClamAV signature database for benchmarks.

    mksigs.py OUTDIR [--hashes 300000] [--bodies 30000] [--seed 1]
              [--testfiles /usr/share/clamav-testfiles]

Writes into OUTDIR:
  bulk.hdb  --hashes random "md5:size:Bench.Hash.N" entries (MD5 of whole files)
  bulk.ndb  --bodies random body patterns "Bench.Body.N:0:*:HEX", 16-32 bytes each
  test.ndb  the EICAR test string as a body signature ("Bench.Test.EICAR")
  test.hdb  clam.exe from clamav-testfiles, as printed by `sigtool --md5`
so the infected messages of mkcorpus.py are detected (names come back with
".UNOFFICIAL" appended). The bulk entries are random: they load and cost
scan time like real ones but match nothing. Python 3 standard library only,
plus ClamAV's sigtool.
"""

import argparse
import hashlib
import os
import random
import subprocess
import sys


def eicar():
    """The EICAR test string, assembled so that this source file is not itself a match."""
    parts = ["X5O!P%@AP[4\\PZX54(P^)7CC)7}$", "EICAR-STANDARD-", "ANTIVIRUS-TEST-FILE!", "$H+H*"]
    return "".join(parts).encode("ascii")


def write_lines(path, lines):
    with open(path, "w") as f:
        f.writelines(lines)


def bulk_hdb(rng, n):
    for i in range(n):
        md5 = rng.randbytes(16).hex()
        size = rng.randrange(1024, 10 * 1024 * 1024)
        yield "%s:%d:Bench.Hash.%06d\n" % (md5, size, i)


def bulk_ndb(rng, n):
    for i in range(n):
        pattern = rng.randbytes(rng.randrange(16, 33)).hex()
        yield "Bench.Body.%05d:0:*:%s\n" % (i, pattern)


def clam_exe_hdb(testfiles):
    """sigtool --md5 line for clam.exe, renamed; checked against hashlib."""
    path = os.path.join(testfiles, "clam.exe")
    try:
        out = subprocess.run(["sigtool", "--md5", path], check=True, capture_output=True,
                             text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        sys.exit("mksigs: sigtool --md5 %s failed (packages clamav, clamav-testfiles): %s" % (path, e))
    md5, size = out.split(":")[:2]
    with open(path, "rb") as f:
        data = f.read()
    if md5 != hashlib.md5(data).hexdigest() or int(size) != len(data):
        sys.exit("mksigs: sigtool and hashlib disagree about %s" % path)
    return "%s:%s:Bench.Test.ClamExe\n" % (md5, size)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--hashes", type=int, default=300000)
    ap.add_argument("--bodies", type=int, default=30000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--testfiles", default="/usr/share/clamav-testfiles")
    a = ap.parse_args()
    if not (0 <= a.hashes <= 10000000 and 0 <= a.bodies <= 1000000):
        sys.exit("mksigs: --hashes in [0, 1e7], --bodies in [0, 1e6]")
    os.makedirs(a.outdir, exist_ok=True)
    # A seed stream of its own: with a bare integer seed, mkcorpus.py's random
    # attachment bytes come from the same Mersenne Twister stream and contain
    # the "random" body patterns verbatim (seen: false positives).
    rng = random.Random("mksigs:%d" % a.seed)
    write_lines(os.path.join(a.outdir, "bulk.hdb"), bulk_hdb(rng, a.hashes))
    write_lines(os.path.join(a.outdir, "bulk.ndb"), bulk_ndb(rng, a.bodies))
    write_lines(os.path.join(a.outdir, "test.ndb"), ["Bench.Test.EICAR:0:*:%s\n" % eicar().hex()])
    write_lines(os.path.join(a.outdir, "test.hdb"), [clam_exe_hdb(a.testfiles)])
    print("mksigs: %d hash + %d body + 2 test signatures in %s"
          % (a.hashes, a.bodies, a.outdir))


if __name__ == "__main__":
    main()
