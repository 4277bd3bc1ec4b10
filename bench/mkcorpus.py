#!/usr/bin/env python3
"""mkcorpus.py - deterministic mail corpus for the scanmilter benchmarks.

    mkcorpus.py OUTDIR [--count 2000] [--seed 1] [--testfiles /usr/share/clamav-testfiles]

Writes OUTDIR/msg-NNNNN.eml (CRLF line ends) and OUTDIR/MANIFEST, one line per
message: "file<TAB>size<TAB>clean|infected<TAB>kind". Same count and seed give
the same bytes. The mix (quotas, not chances, so small corpora keep every kind):
  plain      text/plain, 1-20 KB
  html       multipart/alternative text + HTML, 3-40 KB
  attach     ~16%: one attachment of 100 KB - 1 MB (PDF-, ZIP- or DOC-like), base64
  campaign   ~10%: different text, the very same 400 KB attachment
  huge       ~0.5%: one attachment making the message 5-10 MB
  infected   ~3%: EICAR attached, EICAR inside a zip, or clam.exe from
             clamav-testfiles attached (package clamav-testfiles)
Average size lands near 190 KB. Python 3 standard library only.
"""

import argparse
import base64
import io
import os
import random
import sys
import zipfile

WORDS = ("the of and to in is for on that with as by this from be are at or it an "
         "invoice meeting report quarter budget project delivery account customer "
         "shipment order payment schedule review update team office please attached "
         "regards thanks document contract revision summary agenda minutes server "
         "network release notes holiday travel request approval draft final").split()

ZIP_DATE = (2024, 1, 1, 0, 0, 0)
CAMPAIGN_BYTES = 400 * 1024


def eicar():
    """The EICAR test string, assembled so that this source file is not itself a match."""
    parts = ["X5O!P%@AP[4\\PZX54(P^)7CC)7}$", "EICAR-STANDARD-", "ANTIVIRUS-TEST-FILE!", "$H+H*"]
    return "".join(parts).encode("ascii")


def words(rng, nbytes):
    """CRLF text of about nbytes, lines under 76 characters."""
    out, line, size = [], [], 0
    while size < nbytes:
        w = rng.choice(WORDS)
        if sum(len(x) + 1 for x in line) + len(w) > 72:
            s = " ".join(line)
            out.append(s)
            size += len(s) + 2
            line = []
        line.append(w)
    if line:
        out.append(" ".join(line))
    return "\r\n".join(out) + "\r\n"


def b64(data):
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def zip_bytes(members):
    """A deterministic zip of (name, bytes, compress?) members."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data, deflate in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
            z.writestr(info, data)
    return buf.getvalue()


def blob(rng, kind, size):
    """Random-ish attachment bytes of roughly size, with a plausible name."""
    n = rng.randrange(1000, 100000)
    if kind == "pdf":
        body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + rng.randbytes(size) + b"\n%%EOF\n"
        return "report-%d.pdf" % n, "application/pdf", body
    if kind == "zip":
        text = words(rng, min(size // 4, 50000)).encode()
        body = zip_bytes([("data.bin", rng.randbytes(size), False), ("readme.txt", text, True)])
        return "archive-%d.zip" % n, "application/zip", body
    return "document-%d.doc" % n, "application/msword", rng.randbytes(size)


def headers(rng, i, subject, ctype):
    day = 1 + i % 28
    hdr = [
        "Received: from client%d.example (client%d.example [192.0.2.%d])" % (i % 97, i % 97, 1 + i % 254),
        "\tby mx.bench.example with ESMTP id B%08X; Mon, %d Jan 2024 10:%02d:%02d +0000" % (i, day, i % 60, (i * 7) % 60),
        "From: %s <%s%d@sender.example>" % (rng.choice(WORDS).title(), rng.choice(WORDS), i % 500),
        "To: user%d@bench.example" % (i % 1000),
        "Subject: %s" % subject,
        "Date: Mon, %d Jan 2024 10:%02d:%02d +0000" % (day, i % 60, (i * 7) % 60),
        "Message-ID: <%d.%d@sender.example>" % (i, rng.randrange(1 << 30)),
        "MIME-Version: 1.0",
        "Content-Type: %s" % ctype,
    ]
    return "\r\n".join(hdr) + "\r\n\r\n"


def plain(rng, i):
    text = words(rng, rng.randrange(1000, 20000))
    head = headers(rng, i, "plain %d %s" % (i, rng.choice(WORDS)), 'text/plain; charset="us-ascii"')
    return (head + text).encode()


def html_part(rng, nbytes):
    paras, size = [], 0
    while size < nbytes:
        p = words(rng, rng.randrange(200, 800)).replace("\r\n", " ")
        link = '<a href="http://www.%s.example/%d">%s</a>' % (rng.choice(WORDS), rng.randrange(1000), rng.choice(WORDS))
        s = "<p>%s %s</p>" % (p, link)
        paras.append(s)
        size += len(s) + 2
    return "<html><head><title>news</title></head><body>\r\n" + "\r\n".join(paras) + "\r\n</body></html>\r\n"


def html(rng, i):
    bnd = "=_alt_%08x" % rng.randrange(1 << 32)
    n = rng.randrange(1500, 20000)
    body = ("This is a multi-part message in MIME format.\r\n\r\n--%s\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n%s\r\n--%s\r\n"
            "Content-Type: text/html; charset=us-ascii\r\n\r\n%s\r\n--%s--\r\n"
            % (bnd, words(rng, n), bnd, html_part(rng, n), bnd))
    head = headers(rng, i, "newsletter %d" % i, 'multipart/alternative; boundary="%s"' % bnd)
    return (head + body).encode()


def with_attachment(rng, i, name, ctype, data, subject):
    bnd = "=_mix_%08x" % rng.randrange(1 << 32)
    text = words(rng, rng.randrange(300, 3000))
    head = headers(rng, i, subject, 'multipart/mixed; boundary="%s"' % bnd)
    pre = ("%s--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n%s\r\n--%s\r\n"
           "Content-Type: %s; name=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n"
           "Content-Disposition: attachment; filename=\"%s\"\r\n\r\n"
           % (head, bnd, text, bnd, ctype, name, name))
    return pre.encode() + b64(data) + ("\r\n--%s--\r\n" % bnd).encode()


def attach_size(rng):
    """100 KB - 1 MB, more small ones than large (log-uniform)."""
    return int(100 * 1024 * (10.24 ** rng.random()))


def attach(rng, i):
    name, ctype, data = blob(rng, rng.choice(("pdf", "zip", "doc")), attach_size(rng))
    return with_attachment(rng, i, name, ctype, data, "documents %d" % i)


def huge(rng, i):
    raw = rng.randrange(5 * 1024 * 1024, 10 * 1024 * 1024) * 3 // 4 - 20000
    name, ctype, data = blob(rng, rng.choice(("pdf", "zip")), raw)
    return with_attachment(rng, i, name, ctype, data, "large transfer %d" % i)


def infected(rng, i, variant, clam_exe):
    if variant == 0:
        return with_attachment(rng, i, "eicar.com", "application/octet-stream", eicar(), "test %d" % i)
    if variant == 1:
        z = zip_bytes([("eicar.com", eicar(), True), ("notes.txt", words(rng, 2000).encode(), True)])
        return with_attachment(rng, i, "scan-%d.zip" % i, "application/zip", z, "zipped %d" % i)
    return with_attachment(rng, i, "setup.exe", "application/octet-stream", clam_exe, "update %d" % i)


def plan(rng, count):
    """The kind of every message, by quota, shuffled deterministically."""
    quota = {
        "huge": max(1, round(count * 0.005)),
        "infected": max(1, round(count * 0.03)),
        "campaign": max(1, round(count * 0.10)),
        "attach": round(count * 0.16),
        "html": round(count * 0.25),
    }
    kinds = [k for k, n in quota.items() for _ in range(n)]
    if len(kinds) > count:
        sys.exit("mkcorpus: --count %d is too small for the mix" % count)
    kinds += ["plain"] * (count - len(kinds))
    rng.shuffle(kinds)
    return kinds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--testfiles", default="/usr/share/clamav-testfiles")
    a = ap.parse_args()
    if not 1 <= a.count <= 1000000:
        sys.exit("mkcorpus: --count must be in [1, 1000000]")
    exe_path = os.path.join(a.testfiles, "clam.exe")
    try:
        with open(exe_path, "rb") as f:
            clam_exe = f.read()
    except OSError as e:
        sys.exit("mkcorpus: %s (install the clamav-testfiles package): %s" % (exe_path, e))

    # String seeds keep this stream apart from mksigs.py's (same integer seed
    # -> same Mersenne Twister stream -> its body patterns inside our bytes).
    rng = random.Random("mkcorpus:%d" % a.seed)
    os.makedirs(a.outdir, exist_ok=True)
    kinds = plan(rng, a.count)
    campaign = blob(random.Random("mkcorpus-campaign:%d" % a.seed), "pdf", CAMPAIGN_BYTES)
    n_inf, total, lines = 0, 0, []
    for i, kind in enumerate(kinds):
        if kind == "plain":
            msg = plain(rng, i)
        elif kind == "html":
            msg = html(rng, i)
        elif kind == "attach":
            msg = attach(rng, i)
        elif kind == "campaign":
            msg = with_attachment(rng, i, campaign[0], campaign[1], campaign[2], "Your statement %d" % i)
        elif kind == "huge":
            msg = huge(rng, i)
        else:
            msg = infected(rng, i, n_inf % 3, clam_exe)
            kind = ("infected-eicar", "infected-eicar-zip", "infected-clam-exe")[n_inf % 3]
            n_inf += 1
        name = "msg-%05d.eml" % i
        with open(os.path.join(a.outdir, name), "wb") as f:
            f.write(msg)
        total += len(msg)
        lines.append("%s\t%d\t%s\t%s\n" % (name, len(msg), "infected" if kind.startswith("infected") else "clean", kind))
    with open(os.path.join(a.outdir, "MANIFEST"), "w") as f:
        f.writelines(lines)
    print("mkcorpus: %d messages, %d infected, %.1f MB, average %.1f KB in %s"
          % (a.count, n_inf, total / 1e6, total / a.count / 1024, a.outdir))


if __name__ == "__main__":
    main()
