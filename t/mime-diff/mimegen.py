#!/usr/bin/env python3
"""mimegen.py - generated and mutated MIME messages for the decomposition
property test (t/mime-diff/prop.py).

    mimegen.py OUTDIR [--count N] [--seed S]

Writes OUTDIR/mNNNNN.eml and OUTDIR/RECIPES ("file<TAB>recipe", the recipe
naming every choice the generator made, so a failing message can be told
apart from its neighbours and rebuilt by seed and index).  Same seed and
count, same bytes.

Every message is an attack shaped as one: wherever a header could be read
two ways (Content-Type and boundary parameter syntax -- RFC 822 comments,
quoted-pairs, text after a closing quote, blanks inside an unquoted value,
a parameter given twice, plain against RFC 2231 pieces --, duplicate
Content-Type and Content-Transfer-Encoding headers, odd transfer-encoding
values, delimiters with trailing junk, missing or extra close delimiters,
bare CRs), the body is written for every reading at once: the parts of one
reading hide inside a "cover" part of another, or interleave with its
parts.  Every leaf any of the readings makes carries the EICAR test file,
encoded (base64, quoted-printable, or a uuencode, yEnc or BinHex block in
a text body) so that it is only found by a reader
that decodes that very part -- but for the cover parts that hide another
reading (a "decoy" reading has nothing else: the attacker's harmless
face).  Files are written as an MTA hands them to a
milter: every bare LF made CRLF (bare CRs stay).

Python 3 standard library only.
"""

import argparse
import base64
import os
import random
import sys


def eicar():
    """The EICAR test string, assembled so that this file is not a match."""
    return "".join(["X5O!P%@AP[4\\PZX54(P^)7CC)7}$", "EICAR-STANDARD-",
                    "ANTIVIRUS-TEST-FILE!", "$H+H*"]).encode("ascii")


EICAR = eicar()
MAX_DEPTH = 3
BCHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def yenc(name, data):
    """A yEnc block (=ybegin ... =yend) carrying data."""
    out, col = [], 0
    for b in data:
        c = (b + 42) % 256
        if c in (0, 10, 13, 61) or (col == 0 and c in (9, 32, 46)):
            out.append("=")
            c = (c + 64) % 256
        out.append(chr(c))
        col += 1
    return "=ybegin line=128 size=%d name=%s\n%s\n=yend size=%d\n" % (
        len(data), name, "".join(out), len(data))


def binhex(name, data):
    """A BinHex 4.0 block carrying data as its data fork (CRCs left 0:
    readers do not need them to find the file)."""
    n = name.encode("latin-1")
    raw = (bytes([len(n)]) + n + b"\0TEXTttxt\0\0" + len(data).to_bytes(4, "big") +
           bytes(4) + bytes(2) + data + bytes(4))
    raw = raw.replace(b"\x90", b"\x90\x00")
    alpha = "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr"
    bits = "".join("{:08b}".format(b) for b in raw)
    bits += "0" * (-len(bits) % 6)
    enc = "".join(alpha[int(bits[i:i + 6], 2)] for i in range(0, len(bits), 6))
    lines = "\n".join(enc[i:i + 64] for i in range(0, len(enc), 64))
    return "(This file must be converted with BinHex 4.0)\n\n:%s:\n" % lines


def uuencode(name, data):
    import binascii
    body = "".join(binascii.b2a_uu(data[i:i + 45]).decode("ascii")
                   for i in range(0, len(data), 45))
    return "begin 644 %s\n%s`\nend\n" % (name, body)


def crlf(data):
    """LF -> CRLF where not already CRLF, as the milter layer sees mail."""
    out = bytearray()
    prev = 0
    for b in data:
        if b == 0x0A and prev != 0x0D:
            out += b"\r"
        out.append(b)
        prev = b
    return bytes(out)


class Gen:
    def __init__(self, rng):
        self.r = rng
        self.tags = []
        self.nb = 0
        # a tame message makes only legal choices: decomposition alone
        # must find what it carries, and nothing may be flagged
        self.tame = rng.random() < 0.3
        if self.tame:
            self.tags.append("tame")

    def tag(self, t):
        self.tags.append(t)

    def pick(self, name, choices, weights=None, legal=None):
        """One of choices (the first legal ones only, in a tame message)."""
        if self.tame and legal:
            choices = choices[:legal]
            weights = weights[:legal] if weights else None
        c = self.r.choices(choices, weights)[0] if weights else self.r.choice(choices)
        self.tag("%s=%s" % (name, c.strip().replace(" ", "_") or "_"))
        return c

    def chance(self, p):
        """A mutation with probability p (never in a tame message)."""
        return not self.tame and self.r.random() < p

    # ---- boundaries and their parameter syntax ---------------------------

    def boundary(self):
        self.nb += 1
        n = self.r.randint(4, 16)
        s = "".join(self.r.choice(BCHARS) for _ in range(n))
        if self.r.random() < 0.3:
            s = "=_" + s + "." + str(self.nb)
        return s + "x" + str(self.nb)

    def bparam(self):
        """(parameter text after "multipart/x", [boundaries readers may take])."""
        b = self.boundary()
        form = self.pick("bparam", [
            "quoted", "upper-name", "space-eq", "folded",
            "comment-quoted-after",
            "unquoted", "comment-before", "comment-after",
            "comment-eq", "quoted-pair",
            "after-quote", "space-unquoted", "twice", "rfc2231",
            "rfc2231+plain", "rfc2231-enc", "no-semicolon",
            "semicolon-in-quotes", "unterminated-quote", "name-comment",
            "empty-then-real",
        ], [8, 1, 1, 1, 1, 3] + [1] * 15, legal=5)
        if form == "quoted":
            return '; boundary="%s"' % b, [b]
        if form == "unquoted":
            # an unquoted '=' ends an RFC 2045 token for strict readers
            return "; boundary=%s" % b, [b, b.split("=")[0]]
        if form == "comment-before":
            return "; boundary=(c)%s" % b, [b, "(c)" + b]
        if form == "comment-after":
            return "; boundary=%s(c)" % b, [b, b + "(c)"]
        if form == "comment-quoted-after":
            return '; boundary="%s" (legal comment)' % b, [b]
        if form == "comment-eq":
            b2 = self.boundary()
            return "; (boundary=%s) boundary=%s" % (b2, b), [b, b2]
        if form == "quoted-pair":
            k = len(b) // 2
            return '; boundary="%s\\%s"' % (b[:k], b[k:]), [b, b[:k] + "\\" + b[k:]]
        if form == "after-quote":
            return '; boundary="%s"zz' % b, [b, b + "zz", '"%s"zz' % b]
        if form == "space-unquoted":
            b2 = self.boundary()
            return "; boundary=%s %s" % (b, b2), [b, b2, b + " " + b2, b + b2]
        if form == "twice":
            b2 = self.boundary()
            return '; boundary="%s"; boundary="%s"' % (b, b2), [b, b2]
        if form == "rfc2231":
            k = len(b) // 2
            return '; boundary*0="%s"; boundary*1="%s"' % (b[:k], b[k:]), [b, b[:k]]
        if form == "rfc2231+plain":
            b2 = self.boundary()
            k = len(b) // 2
            order = self.r.random() < 0.5
            p1 = '; boundary="%s"' % b2
            p2 = '; boundary*0="%s"; boundary*1="%s"' % (b[:k], b[k:])
            return (p1 + p2 if order else p2 + p1), [b, b2, b[:k]]
        if form == "rfc2231-enc":
            return "; boundary*=us-ascii''%s" % b, [b, "us-ascii''" + b]
        if form == "upper-name":
            return '; BOUNDARY="%s"' % b, [b]
        if form == "space-eq":
            return '; boundary = "%s"' % b, [b]
        if form == "folded":
            return ';\n\tboundary=\n "%s"' % b, [b]
        if form == "no-semicolon":
            return ' boundary="%s"' % b, [b]
        if form == "semicolon-in-quotes":
            b2 = self.boundary()
            return '; boundary="%s;%s"' % (b, b2), [b + ";" + b2, '"' + b]
        if form == "unterminated-quote":
            return '; boundary="%s' % b, [b, '"' + b]
        if form == "name-comment":
            return '; boundary(c)="%s"' % b, [b]
        # empty-then-real
        return '; boundary=""; boundary="%s"' % b, [b, ""]

    # ---- leaves ----------------------------------------------------------

    def cte_header(self, intended):
        """Content-Transfer-Encoding header lines for a body in intended."""
        if intended == "qp":
            v = self.pick("cte", ["quoted-printable", "Quoted-Printable",
                                  "quoted-printable (c)", "qp"], [4, 1, 1, 1],
                          legal=3)
            return ["Content-Transfer-Encoding: " + v]
        v = self.pick("cte", ["base64", "BASE64", " Base64 ", "base64 (c)",
                              "(c) base64", '"base64"', "base-64", "x-base64",
                              "base64;", "dup-7bit-first", "dup-base64-first",
                              "binary"], [8, 2] + [1] * 10, legal=4)
        if v == "dup-7bit-first":
            return ["Content-Transfer-Encoding: 7bit", "Content-Transfer-Encoding: base64"]
        if v == "dup-base64-first":
            return ["Content-Transfer-Encoding: base64", "Content-Transfer-Encoding: 7bit"]
        return ["Content-Transfer-Encoding: " + v]

    def eicar_body(self, intended):
        if intended == "qp":
            # '$' as =24 and a soft line break: only found after decoding
            s = EICAR.decode("ascii").replace("$", "=24")
            k = self.r.randint(10, len(s) - 10)
            while "=" in s[k - 2:k + 1]:
                k += 1
            return s[:k] + "=\n" + s[k:] + "\n"
        enc = base64.b64encode(EICAR).decode("ascii")
        form = self.pick("b64", ["one-line", "wrapped", "trailing-ws"], [3, 2, 1])
        if form == "wrapped":
            w = self.r.choice([40, 60])
            enc = "\n".join(enc[i:i + w] for i in range(0, len(enc), w))
        elif form == "trailing-ws":
            enc = enc + "  \t"
        return enc + "\n"

    def leaf(self):
        intended = self.pick("enc", ["base64", "qp", "embed"], [8, 2, 1])
        if intended == "embed":
            # a file inside a text body: uuencode, yEnc or BinHex
            how = self.pick("embed", ["uuencode", "yenc", "binhex"])
            block = {"uuencode": uuencode, "yenc": yenc, "binhex": binhex}[how](
                "e.com", EICAR)
            return "Content-Type: text/plain\n\nthe file:\n" + block
        ct = self.pick("ltype", ["application/octet-stream", "text/plain",
                                 "image/png", "application/pdf", "none",
                                 "dup-ct"], [3, 2, 1, 1, 1, 1], legal=5)
        h = []
        fname = "f%d.%s" % (self.r.randint(0, 99), self.r.choice(["bin", "com"]))
        if ct == "dup-ct":
            pair = ["Content-Type: text/plain", "Content-Type: application/x-msdownload; name=\"e.com\""]
            self.r.shuffle(pair)
            h += pair
        elif ct != "none":
            h.append("Content-Type: %s; name=\"%s\"" % (ct, fname))
        if self.r.random() < 0.5:
            # a file name other than name= is a finding of its own
            other = self.chance(0.3)
            if other:
                self.tag("other-filename")
            h.append("Content-Disposition: %s; filename=\"%s\"" %
                     (self.r.choice(["attachment", "inline"]),
                      "e.exe" if other else fname))
        h += self.cte_header(intended)
        self.r.shuffle(h)
        return "\n".join(h) + "\n\n" + self.eicar_body(intended)

    # ---- containers ------------------------------------------------------

    def cover_headers(self):
        """Headers of a part whose body hides another reading's parts."""
        kind = self.pick("cover", ["attach-7bit", "text", "none", "image",
                                   "attach-named"], [3, 2, 1, 1, 1])
        if kind == "attach-7bit":
            return "Content-Type: application/octet-stream\nContent-Transfer-Encoding: 7bit\n\n"
        if kind == "text":
            return "Content-Type: text/plain; charset=us-ascii\n\n"
        if kind == "none":
            return "\n"
        if kind == "image":
            return "Content-Type: image/gif\n\n"
        return "Content-Type: application/octet-stream; name=\"cover.dat\"\nContent-Disposition: attachment; filename=\"cover.dat\"\n\n"

    def delim(self, b, close=False):
        line = "--" + b + ("--" if close else "")
        form = self.pick("dl", ["plain", "pad", "junk", "dash-junk", "crcr",
                                "bare-cr"], [12, 2, 1, 1, 1, 1], legal=2)
        if form == "pad":
            line += " \t"
        elif form == "junk":
            line += "junk"
        elif form == "dash-junk":
            line += "--x" if not close else "x"
        elif form == "crcr":
            line += "\r\r"
        elif form == "bare-cr":
            return "\r" + line + "\n"
        return line + "\n"

    def parts_text(self, bounds, depth, top=False):
        """Body text of a multipart read with bounds[0], hiding the
        readings with bounds[1:] in cover parts or interleaved."""
        b, rest = bounds[0], bounds[1:]
        n = self.r.randint(1, 3)
        # decoy: this reading has no leaf of its own, only what hides the
        # others (the attacker's harmless face)
        if rest and self.r.random() < 0.4:
            self.tag("decoy")
            n = 0
        items = ["leaf"] * n
        if n and depth < MAX_DEPTH and self.r.random() < 0.25:
            items.append(self.r.choice(["multipart", "rfc822"]))
        if rest:
            how = self.pick("hide", ["cover", "interleave", "preamble"], [3, 2, 1])
            items.insert(self.r.randrange(len(items) + 1), "hide:" + how)
        out = ""
        if self.r.random() < 0.2:
            out += "This is a multi-part message in MIME format.\n"
        if rest and items and "hide:preamble" in items:
            items.remove("hide:preamble")
            out += self.parts_text(rest, depth) + "\n"
        for it in items:
            if it == "hide:interleave":
                # the other reading's parts sit between ours
                out += self.parts_text(rest, depth)
                continue
            out += self.delim(b)
            if it == "leaf":
                out += self.leaf()
            elif it == "multipart":
                out += self.multipart(depth + 1)
            elif it == "rfc822":
                out += "Content-Type: message/rfc822\n\n" + self.message(depth + 1)
            else:
                out += self.cover_headers() + self.parts_text(rest, depth)
        # a missing close delimiter is legal at the very end only: inside
        # another multipart the outer delimiter would have to end it
        close = self.pick("close", ["one", "two", "none", "early"], [10, 1, 1, 1],
                          legal=3 if top else 2)
        if close == "one":
            out += self.delim(b, True)
        elif close == "two":
            out += self.delim(b, True) + self.delim(b, True)
        elif close == "early":
            out = self.delim(b, True) + out + self.delim(b, True)
        if close != "none" and self.r.random() < 0.15:
            out += "epilogue\n"
        return out

    def ctype_lines(self, depth):
        """Content-Type header line(s) of a multipart: (lines, boundaries)."""
        sub = self.r.choice(["mixed", "mixed", "alternative", "related"])
        param, cands = self.bparam()
        name = self.pick("ctname", ["Content-Type", "content-type",
                                    "CONTENT-TYPE", "Content-Type "], [8, 1, 1, 1],
                          legal=3)
        lines = ["%s: multipart/%s%s" % (name, sub, param)]
        if self.chance(0.12):
            self.tag("dup-ct")
            p2, c2 = self.bparam()
            other = self.r.choice(["multipart/mixed" + p2, "text/plain",
                                   "application/octet-stream"])
            lines.append("Content-Type: " + other)
            if other.startswith("multipart"):
                cands += c2
            self.r.shuffle(lines)
        if self.chance(0.05):
            self.tag("cte-on-multipart")
            lines.append("Content-Transfer-Encoding: base64")
        seen, uniq = set(), []
        for c in cands:
            if c not in seen:
                seen.add(c)
                uniq.append(c)
        return lines, uniq

    def multipart(self, depth):
        """A multipart entity: its header block and body."""
        lines, cands = self.ctype_lines(depth)
        self.r.shuffle(cands)
        usable = [c for c in cands if c and "\n" not in c]
        body = self.parts_text(usable, depth, depth == 0) if usable else self.leaf()
        return "\n".join(lines) + "\n\n" + body

    def message(self, depth):
        """A whole message (top level or inside message/rfc822)."""
        h = ["From: Alice <alice@example.com>", "To: bob@example.org",
             "Subject: generated %d" % self.r.randint(0, 10 ** 6),
             "Date: Thu, 01 Jan 2026 12:00:00 +0000", "MIME-Version: 1.0"]
        if depth == 0 and self.r.random() < 0.1:
            self.tag("single")
            return "\n".join(h) + "\n" + self.leaf()
        return "\n".join(h) + "\n" + self.multipart(depth)


def generate(seed, index):
    """(bytes, recipe) of message index of a run with seed."""
    rng = random.Random("%d:%d" % (seed, index))
    g = Gen(rng)
    text = g.message(0)
    ends = g.pick("ends", ["lf", "crlf", "mixed"], [4, 2, 1])
    if ends == "crlf":
        text = text.replace("\n", "\r\n")
    elif ends == "mixed":
        text = "".join(l + ("\r\n" if rng.random() < 0.5 else "\n")
                       for l in text.split("\n"))
    data = crlf(text.encode("latin-1"))
    return data, "seed=%d index=%d %s" % (seed, index, " ".join(g.tags))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--count", type=int, default=2500)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    with open(os.path.join(a.outdir, "RECIPES"), "w") as rec:
        for i in range(a.count):
            data, recipe = generate(a.seed, i)
            name = "m%05d.eml" % i
            with open(os.path.join(a.outdir, name), "wb") as f:
                f.write(data)
            rec.write("%s\t%s\n" % (name, recipe))
    return 0


if __name__ == "__main__":
    sys.exit(main())
