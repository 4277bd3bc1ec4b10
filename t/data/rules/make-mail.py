#!/usr/bin/env python3
"""Writes t/data/rules/mail/*.eml and EXPECTED: messages for the rules
engine's tests through scanmilter scan and Postfix (t/integration/rules.sh).
CRLF line ends, as a milter sees them.  Deterministic: run it again and
git diff shows nothing.

EXPECTED: FILE<TAB>X-Spam-Verdict under etc/rules.xml's
service-provider-full, content rules only (no client, HELO or sender rule
fires for them)."""
import base64
import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mail")

HEAD = ("From: Sender <sender@example.org>\n"
        "To: rcpt@example.net\n"
        "Date: Sat, 05 Dec 2026 10:00:00 +0000\n"
        "Message-ID: <{name}@example.org>\n"
        "Subject: {subject}\n"
        "MIME-Version: 1.0\n")

# a Windows program's first bytes, declared as a PDF
PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(56)) + b"PE\x00\x00" * 8

MAILS = [
    ("ham.eml", "Minutes of Thursday's meeting",
     "Content-Type: text/plain; charset=us-ascii\n\n"
     "Hello,\n\nthe minutes are below.  Next meeting: Thursday.\n",
     "Clean (score 0)"),
    ("spam-lottery.eml", "You have won $5000 as our lottery winner",
     "Content-Type: text/plain; charset=us-ascii\n\n"
     "Dear friend,\n\nyour prize is 100% guaranteed: wire the fee today.\n",
     "Spam (score 7: subject-lottery, body-money-offer)"),
    ("spam-program.eml", "Invoice 2026-117",
     "Content-Type: multipart/mixed; boundary=\"b1\"\n\n"
     "--b1\nContent-Type: text/plain; charset=us-ascii\n\nPlease pay.\n"
     "--b1\nContent-Type: application/pdf; name=\"invoice.pdf.exe\"\n"
     "Content-Disposition: attachment; filename=\"invoice.pdf.exe\"\n"
     "Content-Transfer-Encoding: base64\n\n"
     + base64.encodebytes(PROGRAM).decode() + "--b1--\n",
     "Spam (score 14: exe-attachment, double-extension, disguised-program, "
     "type-mismatch)"),
    ("suspect-link.eml", "Your statement",
     "Content-Type: text/html; charset=us-ascii\n\n"
     "<html><body><p>See <a href=\"http://login.other.example/s\">"
     "www.bank.example</a> for your statement.</p></body></html>\n",
     "Suspect (score 3: link-text-mismatch)"),
    ("spam-phish.eml", "Action needed",
     "Content-Type: multipart/alternative; boundary=\"alt\"\n\n"
     "--alt\nContent-Type: text/plain; charset=us-ascii\n\nSee the link.\n"
     "--alt\nContent-Type: text/html; charset=us-ascii\n\n"
     "<html><body><a href=\"https://secure.phish.example/login\">"
     "log in</a></body></html>\n--alt--\n",
     "Spam (score 5: link-bad-domain)"),
    # what the reader is shown, not the bytes as written: an encoded
    # subject, a quoted-printable Latin-1 phrase (no-break spaces), an
    # HTML phrase written with character references and markup
    ("spam-encoded-subject.eml",
     "=?UTF-8?B?" + base64.b64encode(
         "You have won $5000 as our lottery winner".encode()).decode()
     + "?=",
     "Content-Type: text/plain; charset=us-ascii\n\n"
     "Hello,\n\nsee the subject.\n",
     "Suspect (score 4: subject-lottery)"),
    ("spam-qp-latin1.eml", "Your parcel",
     "Content-Type: text/plain; charset=\"ISO-8859-1\"\n"
     "Content-Transfer-Encoding: quoted-printable\n\n"
     "Gr=FC=DFe,\n\nplease wire=A0the=A0fee to get your parcel.\n",
     "Suspect (score 3: body-money-offer)"),
    ("spam-entity-html.eml", "Notice",
     "Content-Type: text/html; charset=utf-8\n\n"
     "<html><body><p>Please w&#105;re&nbsp;the <b>f</b>ee and "
     "verify&#x20;your&#32;<span>acc</span>ount.</p></body></html>\n",
     "Spam (score 5: body-money-offer, body-account-verify)"),
]


def main():
    os.makedirs(HERE, exist_ok=True)
    expected = []
    for name, subject, rest, verdict in MAILS:
        text = HEAD.format(name=name[:-4], subject=subject) + rest
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(text.replace("\n", "\r\n").encode())
        expected.append(f"{name}\t{verdict}\n")
    with open(os.path.join(HERE, "EXPECTED"), "w") as f:
        f.writelines(expected)


if __name__ == "__main__":
    main()
