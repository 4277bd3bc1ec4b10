#!/usr/bin/env python3
"""Generate the scanmilter test mail corpus in t/data/mail/.

Deterministic and stdlib-only: fixed dates, Message-IDs, MIME boundaries,
zip timestamps and pseudo-random bytes, so rerunning it reproduces the
committed files byte for byte.  Every message is written with CRLF line ends,
as it travels over SMTP (after dot-unstuffing), and ends with CRLF.

Usage: t/data/make-mail.py [OUTDIR]        (default: t/data/mail next to this script)

Needs /usr/share/clamav-testfiles/clam.exe (package clamav-testfiles) for
clamexe-attach.eml; override the directory with $CLAMAV_TESTFILES.

Also writes OUTDIR/EXPECTED: FILENAME<TAB>clean|infected<TAB>NAME-or-dash,
where NAME is what libclamav reports with t/data/sigs (".UNOFFICIAL" added
because the test databases are unsigned) when the message is scanned as mail,
i.e. what scanmilter must report. For every message but one, that is also what
"clamscan --database=t/data/sigs FILE" prints; eicar-oddfirstheader.eml is not
recognised as mail by libclamav 1.4 and is clean to a plain clamscan, and only
detected once an mbox "From " line is prepended (see t/data/README).

The zip in eicar-zip.eml is deflated by Python's zlib; another zlib version
could in principle produce different (equally valid) bytes.
"""

import base64
import hashlib
import io
import os
import sys
import zipfile

EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
assert len(EICAR) == 68

V_EICAR = "Scanmilter.Test.EICAR.UNOFFICIAL"
V_CLAMEXE = "Scanmilter.Test.ClamExe.UNOFFICIAL"

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "mail")
TESTFILES = os.environ.get("CLAMAV_TESTFILES", "/usr/share/clamav-testfiles")

DATE = "Thu, 01 Jan 2026 12:00:00 +0000"


def crlf(text):
    """Normalise a str (written with \\n) to CRLF bytes, ending in CRLF."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    text = text.replace(b"\r\n", b"\n")
    if not text.endswith(b"\n"):
        text += b"\n"
    return text.replace(b"\n", b"\r\n")


def b64(data):
    """Base64 with 76-character lines, \\n-terminated."""
    enc = base64.b64encode(data).decode("ascii")
    return "".join(enc[i:i + 76] + "\n" for i in range(0, len(enc), 76))


def headers(name, subject, extra_first=(), extra=()):
    """Common top-level headers. name makes the Message-ID unique."""
    h = list(extra_first)
    h += [
        "Return-Path: <sender@example.com>",
        "From: Test Sender <sender@example.com>",
        "To: Test Recipient <rcpt@example.org>",
        "Subject: " + subject,
        "Date: " + DATE,
        "Message-ID: <%s@scanmilter.test>" % name,
    ]
    h += list(extra)
    return "\n".join(h) + "\n"


def prng_bytes(n, seed=b"scanmilter clean-large"):
    """Deterministic pseudo-random bytes (SHA-256 in counter mode)."""
    out = bytearray()
    ctr = 0
    while len(out) < n:
        out += hashlib.sha256(seed + ctr.to_bytes(8, "big")).digest()
        ctr += 1
    return bytes(out[:n])


def make_zip(name, data):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 12, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        info.create_system = 3  # Unix, independent of the host
        z.writestr(info, data)
    return buf.getvalue()


MIME = "MIME-Version: 1.0"

MSGS = []  # (filename, bytes, verdict, virusname)


def add(fname, body, verdict="clean", virus="-"):
    MSGS.append((fname, crlf(body), verdict, virus))


# ---------------------------------------------------------------- clean ---

add("clean-plain.eml", headers("clean-plain", "Plain text, nothing to see", extra=[
    MIME,
    "Content-Type: text/plain; charset=us-ascii",
    "Content-Transfer-Encoding: 7bit",
]) + """
Hello,

this is a plain text message for the scanmilter test suite.
It contains no virus and no attachment.

-- 
Test Sender
""")

B = "=_scanmilter_alt_0001"
add("clean-html.eml", headers("clean-html", "HTML newsletter (clean)", extra=[
    MIME,
    'Content-Type: multipart/alternative; boundary="%s"' % B,
]) + """
This is a multi-part message in MIME format.

--{B}
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Hello,

this is the text alternative of a clean HTML message.

--{B}
Content-Type: text/html; charset=us-ascii
Content-Transfer-Encoding: 7bit

<!DOCTYPE html>
<html><head><title>Clean</title></head>
<body>
<p>Hello,</p>
<p>this is the <b>HTML</b> alternative of a clean message.
<a href="https://www.example.com/">example.com</a></p>
</body></html>

--{B}--
""".format(B=B))

PDFISH = b"""%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >> endobj
4 0 obj << /Length 44 >> stream
BT /F1 12 Tf 72 720 Td (Hello, clean) Tj ET
endstream endobj
trailer << /Root 1 0 R >>
%%EOF
"""
NOTES = b"Meeting notes\nline two\nline three\n" * 20
B = "=_scanmilter_mixed_0002"
add("clean-attach.eml", headers("clean-attach", "Report with attachments (clean)", extra=[
    MIME,
    'Content-Type: multipart/mixed; boundary="%s"' % B,
]) + """
This is a multi-part message in MIME format.

--{B}
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Please find the report and the notes attached.

--{B}
Content-Type: application/pdf; name="report.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="report.pdf"

{PDF}
--{B}
Content-Type: text/plain; charset=us-ascii; name="notes.txt"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="notes.txt"

{TXT}
--{B}--
""".format(B=B, PDF=b64(PDFISH), TXT=b64(NOTES)))

add("clean-utf8.eml", headers(
    "clean-utf8",
    "=?UTF-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4g4oCUIOaXpeacrOiqng==?=",
    extra_first=[
        "Received: from client.example.com (client.example.com [IPv6:2001:db8::25])",
        "\tby mx.example.org with ESMTPS id 4ABCDEF0123",
        "\tfor <rcpt@example.org>; " + DATE,
    ],
    extra=[
        MIME,
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]) + """
Grüße aus München — 日本語のテキスト — Ελληνικά — Привет.

This message has an RFC 2047 encoded subject, an 8bit UTF-8 body
and a Received header with an IPv6 address literal. It is clean.
""")

# clean-large.eml: ~3 MB, base64 attachment of deterministic bytes.
LARGE = prng_bytes(2200 * 1024)
B = "=_scanmilter_large_0003"
add("clean-large.eml", headers("clean-large", "Large attachment (clean, ~3 MB)", extra=[
    MIME,
    'Content-Type: multipart/mixed; boundary="%s"' % B,
]) + """
This is a multi-part message in MIME format.

--{B}
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

A large, harmless binary attachment (pseudo-random bytes).

--{B}
Content-Type: application/octet-stream; name="random.bin"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="random.bin"

{DATA}
--{B}--
""".format(B=B, DATA=b64(LARGE)))

# ------------------------------------------------------------- infected ---

add("eicar-plain.eml", headers("eicar-plain", "EICAR in a plain text body", extra=[
    MIME,
    "Content-Type: text/plain; charset=us-ascii",
    "Content-Transfer-Encoding: 7bit",
]) + """
The next line is the EICAR test string.

""" + EICAR.decode("ascii") + """

End.
""", "infected", V_EICAR)


def eicar_attach_msg(name, subject, extra_first=()):
    B = "=_scanmilter_eicar_%s" % name
    return headers(name, subject, extra_first=extra_first, extra=[
        MIME,
        'Content-Type: multipart/mixed; boundary="%s"' % B,
    ]) + """
This is a multi-part message in MIME format.

--{B}
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

The attached file is the EICAR test file.

--{B}
Content-Type: application/octet-stream; name="eicar.com"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="eicar.com"

{DATA}
--{B}--
""".format(B=B, DATA=b64(EICAR))


add("eicar-attach.eml", eicar_attach_msg("eicar-attach", "EICAR as base64 attachment"),
    "infected", V_EICAR)

B = "=_scanmilter_zip_0004"
add("eicar-zip.eml", headers("eicar-zip", "EICAR inside a zip attachment", extra=[
    MIME,
    'Content-Type: multipart/mixed; boundary="%s"' % B,
]) + """
This is a multi-part message in MIME format.

--{B}
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

The attached zip holds eicar.com.

--{B}
Content-Type: application/zip; name="eicar.zip"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="eicar.zip"

{DATA}
--{B}--
""".format(B=B, DATA=b64(make_zip("eicar.com", EICAR))), "infected", V_EICAR)

# Quoted-printable: the raw part does NOT contain the EICAR string; it only
# appears after QP decoding ('$' written as =24, a soft line break inside).
s = EICAR.decode("ascii").replace("$", "=24")
cut = s.index("STANDARD-") + len("STANDARD-")
QP = s[:cut] + "=\n" + s[cut:]
assert EICAR.decode("ascii") not in QP
B = "=_scanmilter_qp_0005"
add("eicar-qp.eml", headers("eicar-qp", "EICAR in a quoted-printable part", extra=[
    MIME,
    'Content-Type: multipart/mixed; boundary="%s"' % B,
]) + """
This is a multi-part message in MIME format.

--{B}
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

The next part is quoted-printable.

--{B}
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: quoted-printable

Caf=C3=A9 test, the EICAR string follows:
{QP}
--{B}--
""".format(B=B, QP=QP), "infected", V_EICAR)

INNER = eicar_attach_msg("eicar-nested-inner", "Inner message with EICAR")
B = "=_scanmilter_nested_0006"
add("eicar-nested.eml", headers("eicar-nested", "Fwd: Inner message with EICAR", extra=[
    MIME,
    'Content-Type: multipart/mixed; boundary="%s"' % B,
]) + """
This is a multi-part message in MIME format.

--{B}
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Forwarded message attached.

--{B}
Content-Type: message/rfc822
Content-Disposition: attachment; filename="forwarded.eml"

{INNER}
--{B}--
""".format(B=B, INNER=INNER), "infected", V_EICAR)

with open(os.path.join(TESTFILES, "clam.exe"), "rb") as f:
    CLAMEXE = f.read()
B = "=_scanmilter_clamexe_0007"
add("clamexe-attach.eml", headers("clamexe-attach", "clam.exe attached", extra=[
    MIME,
    'Content-Type: multipart/mixed; boundary="%s"' % B,
]) + """
This is a multi-part message in MIME format.

--{B}
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

clam.exe from clamav-testfiles is attached.

--{B}
Content-Type: application/x-msdownload; name="clam.exe"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="clam.exe"

{DATA}
--{B}--
""".format(B=B, DATA=b64(CLAMEXE)), "infected", V_CLAMEXE)


def fake_b64(seed, n):
    """n characters of deterministic base64 (fake signature material)."""
    return base64.b64encode(prng_bytes(n, seed.encode())).decode("ascii")[:n]


def folded(prefix, data, width=72):
    """A header: prefix folded after each "; ", then data (no spaces) in
    tab-continued lines of at most width characters."""
    parts = prefix.split("; ")
    out = [parts[0] + (";" if len(parts) > 1 else "")]
    out += ["\t" + p + ";" for p in parts[1:-1]]
    if len(parts) > 1:
        out.append("\t" + parts[-1])
    out += ["\t" + data[i:i + width] for i in range(0, len(data), width)]
    return out


def gmailish_headers(name, subject):
    """Gmail-like header order, first header ARC-Seal (fake, unverifiable
    signatures). 'From:' starts beyond byte 1024, and 'MIME-Version:' is
    separated from 'Content-Type:' by a long References header (> 1024 bytes),
    so none of libclamav 1.4's built-in mail file-type magic matches."""
    h = []
    h += folded("ARC-Seal: i=1; a=rsa-sha256; t=1767268800; cv=none; d=example.com; "
                "s=arc-20260101; b=", fake_b64("arc-seal", 344))
    h += folded("ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; "
                "d=example.com; s=arc-20260101; "
                "h=to:subject:message-id:date:from:in-reply-to:references:mime-version; "
                "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=",
                fake_b64("arc-ms", 344))
    h += folded("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; "
                "s=20260101; t=1767268800; "
                "h=to:subject:message-id:date:from:in-reply-to:references:mime-version; "
                "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=",
                fake_b64("dkim", 344))
    h.append(MIME)
    refs = ["<thread-%02d-%s@mail.example.com>" % (i, fake_b64("ref%d" % i, 24).replace("/", "_").replace("+", "-"))
            for i in range(24)]
    h.append("References: " + refs[0])
    h += ["\t" + r for r in refs[1:]]
    h.append("In-Reply-To: " + refs[-1])
    h += [
        "From: Test Sender <sender@example.com>",
        "Date: " + DATE,
        "Message-ID: <%s@scanmilter.test>" % name,
        "Subject: " + subject,
        "To: Test Recipient <rcpt@example.org>",
    ]
    return h


# eicar-oddfirstheader.eml: the message as a milter rebuilds it from its
# headers (the MTA's own Received: is not shown), first header ARC-Seal.
# libclamav guesses the file type from the first bytes; for this message it
# does NOT recognise mail, so a whole-file scan of it is clean (the base64
# EICAR is never decoded). Prefixing an mbox "From " line makes it mail.
# EXPECTED holds what scanmilter must report (infected). See README.
B = "=_scanmilter_eicar_oddfirstheader"
oh = gmailish_headers("eicar-oddfirstheader", "Re: EICAR attachment, unusual first header")
oh.append('Content-Type: multipart/mixed; boundary="%s"' % B)
ODD = "\n".join(oh) + "\n" + """
--{B}
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

The attached file is the EICAR test file.

--{B}
Content-Type: application/octet-stream; name="eicar.com"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="eicar.com"

{DATA}
--{B}--
""".format(B=B, DATA=b64(EICAR))
oddpos = ODD.replace("\n", "\r\n")
assert oddpos.index("\r\nFrom: ") > 1024
assert oddpos.index("\r\nContent-Type: ") - oddpos.index("\r\nMIME-Version: ") > 1024 + 16
add("eicar-oddfirstheader.eml", ODD, "infected", V_EICAR)

# eicar-dkimfirst.eml: a short DKIM-Signature first; libclamav still finds
# "\nFrom: " within the first 1024 bytes and treats it as mail unaided.
add("eicar-dkimfirst.eml", eicar_attach_msg(
    "eicar-dkimfirst", "EICAR attachment, DKIM-Signature first",
    extra_first=folded("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; "
                       "d=example.com; s=test; t=1767268800; "
                       "h=from:to:subject:date:message-id; "
                       "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=",
                       fake_b64("dkimfirst", 344))), "infected", V_EICAR)

# ---------------------------------------------------------------- write ---

os.makedirs(OUT, exist_ok=True)
for fname, data, verdict, virus in MSGS:
    for line in data.split(b"\r\n"):
        assert len(line) <= 998, (fname, len(line))
    assert b"\n" not in data.replace(b"\r\n", b""), fname
    if fname != "clean-large.eml":
        assert len(data) < 50 * 1024, (fname, len(data))
    with open(os.path.join(OUT, fname), "wb") as f:
        f.write(data)

with open(os.path.join(OUT, "EXPECTED"), "w") as f:
    for fname, data, verdict, virus in sorted(MSGS):
        f.write("%s\t%s\t%s\n" % (fname, verdict, virus))

print("wrote %d messages and EXPECTED to %s" % (len(MSGS), OUT))
