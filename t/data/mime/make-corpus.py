#!/usr/bin/env python3
"""make-corpus.py - writes the MIME bypass corpus next to itself.

    t/data/mime/make-corpus.py

control/*.eml  legal but unusual syntax readers agree on, clean: never flagged,
            never scanned whole (the control of the property test).
good/*.eml  legal but unusual MIME, and mail shaped like what Outlook, Gmail,
            Apple Mail, Thunderbird, calendar servers, mailing lists, S/MIME
            signers and MTAs (bounces) send: no anomaly may be reported.
bad/*.eml   one evasion technique each: structure that different MIME
            readers interpret differently, or that hides content.
EXPECTED    FILE <TAB> ANOMALY,ANOMALY (or -) <TAB> # what it does

Files are CRLF (as a milter sees mail) unless the case says otherwise.
Deterministic: same script, same bytes.  Python 3 standard library only.
"""

import base64
import os

HERE = os.path.dirname(os.path.abspath(__file__))
EICAR_B64 = ("WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFOVElW"
             "SVJVUy1URVNULUZJTEUhJEgrSCo=")
PDF = base64.encodebytes(b"%PDF-1.4\n" + bytes(range(256)) * 3 +
                         b"\n%%EOF\n").decode()
PNG = base64.encodebytes(b"\x89PNG\r\n\x1a\n" + bytes(200)).decode()
HEAD = """From: Alice Example <alice@example.com>
To: Bob Example <bob@example.org>
Subject: {subject}
Date: Thu, 01 Jan 2026 12:00:00 +0000
Message-ID: <{mid}@example.com>
"""

CASES = []


def case(kind, name, expected, what, text, crlf=True, raw=False):
    CASES.append((kind, name, expected, what, text, crlf, raw))


def head(subject, mid=None):
    return HEAD.format(subject=subject, mid=mid or subject.replace(" ", "-"))


# ---- good: legal but unusual ----------------------------------------------

case("good", "folded-headers", "-", "Content-Type folded over three lines",
     head("folded") + """MIME-Version: 1.0
Content-Type: multipart/mixed;
 boundary="folded-b";
\tcharset="us-ascii"

--folded-b
Content-Type: text/plain;
	charset="utf-8";
	format=flowed

Folded headers everywhere.
--folded-b--
""")

case("good", "quoted-boundary-specials", "-",
     "quoted boundary with spaces and every legal special",
     head("specials") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="a b'(c)+_,-./:=?z"

--a b'(c)+_,-./:=?z
Content-Type: text/plain

one
--a b'(c)+_,-./:=?z
Content-Type: application/octet-stream; name="x.bin"
Content-Transfer-Encoding: base64

AAECAw==
--a b'(c)+_,-./:=?z--
""")

case("good", "preamble-epilogue", "-", "text before the first and after the last boundary",
     head("preamble") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=pe

This is a multi-part message in MIME format.
If you see this, your mail reader does not understand MIME.

--pe
Content-Type: text/plain

body
--pe--

This is the epilogue. It is ignored.
""")

case("good", "odd-case-params", "-", "field names, types and parameters in odd case",
     head("case") + """mime-version: 1.0
CONTENT-TYPE: MULTIPART/Mixed; BOUNDARY="CaseB"

--CaseB
content-type: Text/Plain; CHARSET=US-ASCII
CONTENT-TRANSFER-ENCODING: Quoted-Printable

caf=E9 au lait
--CaseB
Content-Type: Application/PDF; Name="Report.PDF"
Content-Disposition: ATTACHMENT; FileName="Report.PDF"
Content-Transfer-Encoding: BASE64

""" + PDF + """--CaseB--
""")

case("good", "rfc2231-filename", "-",
     "RFC 2231 file name with charset'lang' and continuations",
     head("rfc2231") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="r2231"

--r2231
Content-Type: text/plain; charset=utf-8

See attachments.
--r2231
Content-Type: application/pdf
Content-Disposition: attachment;
 filename*0*=UTF-8''%C3%9Cbersicht%20der%20;
 filename*1*=Quartalszahlen%20;
 filename*2="2026.pdf"
Content-Transfer-Encoding: base64

""" + PDF + """--r2231
Content-Type: text/plain; name*=iso-8859-1'de'na%EFve.txt
Content-Disposition: attachment; filename*=iso-8859-1'de'na%EFve.txt

naive
--r2231--
""")

case("good", "rfc2047-filename", "-", "RFC 2047 encoded words in name and filename (Outlook)",
     head("rfc2047") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="r2047"

--r2047
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit

Anbei die Rechnung.
--r2047
Content-Type: application/pdf; name="=?utf-8?B?UmVjaG51bmdfTsKwMTIzLnBkZg==?="
Content-Description: =?utf-8?B?UmVjaG51bmdfTsKwMTIzLnBkZg==?=
Content-Disposition: attachment; filename="=?utf-8?B?UmVjaG51bmdfTsKwMTIzLnBkZg==?=";
	size=1000; creation-date="Thu, 01 Jan 2026 12:00:00 GMT"
Content-Transfer-Encoding: base64

""" + PDF + """--r2047--
""")

case("good", "empty-parts", "-", "parts with no body, and one with no headers",
     head("empty") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=ep

--ep

--ep
Content-Type: text/plain

--ep
Content-Type: application/octet-stream; name=empty.dat

--ep--
""")

case("good", "8bit-body", "-", "raw UTF-8 body declared 8bit",
     head("8bit") + """MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Grüße aus Köln — 日本語のテキスト.
""")

case("good", "final-boundary-no-crlf", "-", "the close delimiter ends the file without a line end",
     head("nocrlf") + """MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=nc

--nc
Content-Type: text/plain

plain
--nc
Content-Type: text/html

<p>html</p>
--nc--""")

case("good", "lf-only", "-", "LF line ends throughout", head("lf") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=lf

--lf
Content-Type: text/plain

unix line ends
--lf
Content-Type: application/octet-stream; name=a.bin
Content-Transfer-Encoding: base64

""" + PNG + """--lf--
""", crlf=False)

case("good", "base64-short-lines", "-", "base64 in 64- and 40-character lines",
     head("b64lines") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=bl

--bl
Content-Type: image/png; name=a.png
Content-Transfer-Encoding: base64

""" + "\n".join(PDF.replace("\n", "")[i:i + 64]
                for i in range(0, len(PDF.replace("\n", "")), 64)) + """
--bl
Content-Type: application/pdf; name=b.pdf
Content-Transfer-Encoding: base64

""" + "\n".join(PDF.replace("\n", "")[i:i + 40]
                for i in range(0, len(PDF.replace("\n", "")), 40)) + """
--bl--
""")

case("good", "base64-trailing-ws", "-", "blanks and tabs after base64 lines",
     head("b64ws") + """MIME-Version: 1.0
Content-Type: application/pdf; name="ws.pdf"
Content-Transfer-Encoding: base64

""" + "".join(l + " \t\n" for l in PDF.splitlines()))

case("good", "charset-comment", "-", "a comment after the charset parameter",
     head("comment") + """MIME-Version: 1.0 (generated by hand)
Content-Type: text/plain; charset=us-ascii (Plain text)
Content-Transfer-Encoding: 7bit (just ASCII)

Comments are legal in structured fields.
""")

case("good", "mbox-from-line", "-", "an mbox From line first, as in the wire buffer",
     "From alice@example.com  Thu Jan  1 12:00:00 2026\n" + head("mbox") +
     """MIME-Version: 1.0
Content-Type: text/plain

body
""")

case("good", "uuencode-in-text", "-", "a uuencoded file inside a plain text body",
     head("uu") + """
Here is the file:

begin 644 hello.txt
5:&5L;&\\@=75E;F-O9&4@=V]R;&0*
`
end

Bye.
""")

case("good", "iso-2022-jp", "-", "Japanese legacy mail: ISO-2022-JP with ESC, 7bit",
     head("jp") + """MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-2022-JP
Content-Transfer-Encoding: 7bit
X-Raw-Subject: \x1b$B%F%9%H\x1b(B

\x1b$B$3$s$K$A$O\x1b(B
""")

case("good", "digest", "-", "multipart/digest: parts default to message/rfc822",
     head("digest") + """MIME-Version: 1.0
Content-Type: multipart/digest; boundary=dg

Digest preamble.

--dg

From: one@example.com
Subject: first

First message.
--dg

From: two@example.com
Subject: second
Content-Type: text/plain; charset=utf-8

Second message.
--dg--
""")

case("good", "pgp-encrypted", "-", "PGP/MIME multipart/encrypted",
     head("pgp") + """MIME-Version: 1.0
Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";
 boundary="pgp-b"

This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)
--pgp-b
Content-Type: application/pgp-encrypted
Content-Description: PGP/MIME version identification

Version: 1

--pgp-b
Content-Type: application/octet-stream; name="encrypted.asc"
Content-Description: OpenPGP encrypted message
Content-Disposition: inline; filename="encrypted.asc"

-----BEGIN PGP MESSAGE-----

hQEMA1234567890ABAQf/Xyz
=AbCd
-----END PGP MESSAGE-----

--pgp-b--
""")

# ---- good: real-world shaped ----------------------------------------------

case("good", "outlook-related-mixed", "-",
     "Outlook: mixed > related > alternative, inline cid image, attachment",
     head("Outlook") + """Thread-Topic: Quarterly report
Thread-Index: AdpcABCDEFGHIJKLMNOPQRSTUVWXYZ==
Accept-Language: en-US
Content-Language: en-US
X-MS-Has-Attach: yes
X-MS-TNEF-Correlator:
MIME-Version: 1.0
Content-Type: multipart/mixed;
	boundary="_004_DM6PR11MB0001namprd11prodoutlookcom_"

--_004_DM6PR11MB0001namprd11prodoutlookcom_
Content-Type: multipart/related;
	boundary="_003_DM6PR11MB0001namprd11prodoutlookcom_";
	type="multipart/alternative"

--_003_DM6PR11MB0001namprd11prodoutlookcom_
Content-Type: multipart/alternative;
	boundary="_000_DM6PR11MB0001namprd11prodoutlookcom_"

--_000_DM6PR11MB0001namprd11prodoutlookcom_
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

Hi Bob,

Please find the report attached.=20

[cid:image001.png@01DA0000.12345678]

Regards,
Alice

--_000_DM6PR11MB0001namprd11prodoutlookcom_
Content-Type: text/html; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

<html xmlns:v=3D"urn:schemas-microsoft-com:vml" xmlns:o=3D"urn:schemas-micr=
osoft-com:office:office"><head><meta http-equiv=3D"Content-Type" content=3D=
"text/html; charset=3Dus-ascii"></head><body lang=3D"EN-US"><div class=3D"W=
ordSection1"><p class=3D"MsoNormal">Hi Bob,<o:p></o:p></p><p class=3D"MsoNo=
rmal"><img width=3D"10" height=3D"10" src=3D"cid:image001.png@01DA0000.1234=
5678"></p></div></body></html>

--_000_DM6PR11MB0001namprd11prodoutlookcom_--

--_003_DM6PR11MB0001namprd11prodoutlookcom_
Content-Type: image/png; name="image001.png"
Content-Description: image001.png
Content-Disposition: inline; filename="image001.png"; size=208;
	creation-date="Thu, 01 Jan 2026 12:00:00 GMT";
	modification-date="Thu, 01 Jan 2026 12:00:00 GMT"
Content-ID: <image001.png@01DA0000.12345678>
Content-Transfer-Encoding: base64

""" + PNG + """
--_003_DM6PR11MB0001namprd11prodoutlookcom_--

--_004_DM6PR11MB0001namprd11prodoutlookcom_
Content-Type: application/pdf; name="Q4 report.pdf"
Content-Description: Q4 report.pdf
Content-Disposition: attachment; filename="Q4 report.pdf"; size=800;
	creation-date="Thu, 01 Jan 2026 12:00:00 GMT";
	modification-date="Thu, 01 Jan 2026 12:00:00 GMT"
Content-Transfer-Encoding: base64

""" + PDF + """
--_004_DM6PR11MB0001namprd11prodoutlookcom_--
""")

case("good", "gmail-alternative-attachment", "-",
     "Gmail: mixed > alternative, 000000 boundaries, attachment",
     head("Gmail") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="0000000000001a2b3c0605f1a2b3"

--0000000000001a2b3c0605f1a2b3
Content-Type: multipart/alternative; boundary="0000000000001a2b3a0605f1a2b1"

--0000000000001a2b3a0605f1a2b1
Content-Type: text/plain; charset="UTF-8"

Hi Bob, here it is =E2=80=94 see attached.

--0000000000001a2b3a0605f1a2b1
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr">Hi Bob, here it is =E2=80=94 see attached.</div>

--0000000000001a2b3a0605f1a2b1--
--0000000000001a2b3c0605f1a2b3
Content-Type: application/pdf; name="invoice.pdf"
Content-Disposition: attachment; filename="invoice.pdf"
Content-Transfer-Encoding: base64
Content-ID: <f_lq1abc0>
X-Attachment-Id: f_lq1abc0

""" + PDF + """--0000000000001a2b3c0605f1a2b3--
""")

case("good", "apple-mail-inline-image", "-",
     "Apple Mail: alternative > related with an inline image, Apple-Mail boundaries",
     head("Apple") + """Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.300.61.1.2\\))
Content-Type: multipart/alternative;
	boundary="Apple-Mail=_0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9"
X-Mailer: Apple Mail (2.3774.300.61.1.2)


--Apple-Mail=_0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9
Content-Transfer-Encoding: 7bit
Content-Type: text/plain;
	charset=us-ascii

Look at this:


Cheers

--Apple-Mail=_0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9
Content-Type: multipart/related;
	type="text/html";
	boundary="Apple-Mail=_11223344-5566-7788-99AA-BBCCDDEEFF00"


--Apple-Mail=_11223344-5566-7788-99AA-BBCCDDEEFF00
Content-Transfer-Encoding: 7bit
Content-Type: text/html;
	charset=us-ascii

<html><head><meta http-equiv="content-type" content="text/html; charset=us-ascii"></head><body>Look at this:<img src="cid:ABCD-1234@apple.com"></body></html>
--Apple-Mail=_11223344-5566-7788-99AA-BBCCDDEEFF00
Content-Transfer-Encoding: base64
Content-Disposition: inline;
	filename=photo.png
Content-Type: image/png;
	x-unix-mode=0644;
	name="photo.png"
Content-Id: <ABCD-1234@apple.com>

""" + PNG + """
--Apple-Mail=_11223344-5566-7788-99AA-BBCCDDEEFF00--

--Apple-Mail=_0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9--
""")

case("good", "thunderbird-attachments", "-",
     "Thunderbird: format=flowed text, attachments with name and filename",
     head("Thunderbird") + """User-Agent: Mozilla Thunderbird
Content-Language: en-US
MIME-Version: 1.0
Content-Type: multipart/mixed;
 boundary="------------0aBcD3fGh1JkLmN0pQrStUvW"

This is a multi-part message in MIME format.
--------------0aBcD3fGh1JkLmN0pQrStUvW
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 7bit

Hi,

two files attached.

-- 
Alice

--------------0aBcD3fGh1JkLmN0pQrStUvW
Content-Type: text/csv; charset=UTF-8; name="data.csv"
Content-Disposition: attachment; filename="data.csv"
Content-Transfer-Encoding: base64

YSxiLGMKMSwyLDMK
--------------0aBcD3fGh1JkLmN0pQrStUvW
Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document;
 name="=?UTF-8?B?w5xiZXJzaWNodC5kb2N4?="
Content-Disposition: attachment;
 filename*=UTF-8''%C3%9C%62%65%72%73%69%63%68%74%2E%64%6F%63%78
Content-Transfer-Encoding: base64

""" + PDF + """
--------------0aBcD3fGh1JkLmN0pQrStUvW--
""")

case("good", "calendar-invite", "-",
     "calendar invitation: alternative with text/calendar method=REQUEST, .ics attachment",
     head("Invitation: Review @ Fri Jan 2, 2026") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="cal-mixed"

--cal-mixed
Content-Type: multipart/alternative; boundary="cal-alt"

--cal-alt
Content-Type: text/plain; charset="UTF-8"; format=flowed; delsp=yes

You have been invited to Review.

--cal-alt
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<span>You have been invited to <b>Review</b>.</span>

--cal-alt
Content-Type: text/calendar; charset="UTF-8"; method=REQUEST
Content-Transfer-Encoding: 7bit

BEGIN:VCALENDAR
PRODID:-//Example//Calendar 1.0//EN
VERSION:2.0
METHOD:REQUEST
BEGIN:VEVENT
DTSTART:20260102T100000Z
DTEND:20260102T110000Z
UID:review-1@example.com
SUMMARY:Review
END:VEVENT
END:VCALENDAR

--cal-alt--

--cal-mixed
Content-Type: application/ics; name="invite.ics"
Content-Disposition: attachment; filename="invite.ics"
Content-Transfer-Encoding: base64

QkVHSU46VkNBTEVOREFSClZFUlNJT046Mi4wCkVORDpWQ0FMRU5EQVIK
--cal-mixed--
""")

case("good", "forwarded-rfc822", "-",
     "a message forwarded as an attachment, itself with an attachment",
     head("Fwd: photos") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="fwd-outer"

--fwd-outer
Content-Type: text/plain; charset=utf-8

See the forwarded message.

--fwd-outer
Content-Type: message/rfc822; name="photos.eml"
Content-Disposition: attachment; filename="photos.eml"

From: Carol <carol@example.net>
To: Alice <alice@example.com>
Subject: photos
Date: Wed, 31 Dec 2025 10:00:00 +0000
Message-ID: <photos@example.net>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="fwd-inner"

--fwd-inner
Content-Type: text/plain

Photos from the trip.
--fwd-inner
Content-Type: image/png; name="trip.png"
Content-Disposition: attachment; filename="trip.png"
Content-Transfer-Encoding: base64

""" + PNG + """--fwd-inner--

--fwd-outer--
""")

case("good", "mailing-list-footer", "-",
     "Mailman: the original alternative wrapped in mixed with a footer part",
     head("[list] meeting notes") + """List-Id: Team list <team.lists.example.com>
List-Unsubscribe: <mailto:team-leave@lists.example.com>
Precedence: list
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="===============1234567890123456789=="

--===============1234567890123456789==
Content-Type: multipart/alternative; boundary="orig-alt"

--orig-alt
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: 7bit

Notes are in the wiki.

--orig-alt
Content-Type: text/html; charset="us-ascii"
Content-Transfer-Encoding: 7bit

<p>Notes are in the wiki.</p>

--orig-alt--

--===============1234567890123456789==
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0
Content-Transfer-Encoding: 7bit
Content-Disposition: inline

_______________________________________________
team mailing list
team@lists.example.com

--===============1234567890123456789==--
""")

case("good", "smime-signed", "-", "S/MIME multipart/signed with a detached signature",
     head("signed") + """MIME-Version: 1.0
Content-Type: multipart/signed; protocol="application/pkcs7-signature";
	micalg=sha-256; boundary="----smime-sig-b"

This is an S/MIME signed message

------smime-sig-b
Content-Type: multipart/alternative; boundary="sig-alt"

--sig-alt
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Signed text.=0A
--sig-alt
Content-Type: text/html; charset=utf-8

<p>Signed text.</p>
--sig-alt--

------smime-sig-b
Content-Type: application/pkcs7-signature; name="smime.p7s"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="smime.p7s"
Content-Description: S/MIME Cryptographic Signature

MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwEAAKCCAyAw
ggMcMIICBKADAgECAgEBMA0GCSqGSIb3DQEBCwUAMBIxEDAOBgNVBAMMB0V4YW1wbGUwHhcNMjYw
MTAxMDAwMDAwWhcNMjcwMTAxMDAwMDAwWjASMRAwDgYDVQQDDAdFeGFtcGxlAAAAAAAA

------smime-sig-b--
""")

case("good", "dsn-bounce", "-",
     "a bounce: multipart/report with message/delivery-status and the returned message",
     """From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
To: alice@example.com
Subject: Undelivered Mail Returned to Sender
Date: Thu, 01 Jan 2026 12:05:00 +0000
Message-ID: <bounce-1@mx.example.org>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="B0UNCE.1767268800/mx.example.org"
Content-Transfer-Encoding: 8bit

This is a MIME-encapsulated message.

--B0UNCE.1767268800/mx.example.org
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--B0UNCE.1767268800/mx.example.org
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
Arrival-Date: Thu,  1 Jan 2026 12:00:00 +0000 (UTC)

Final-Recipient: rfc822; nobody@example.org
Action: failed
Status: 5.1.1

--B0UNCE.1767268800/mx.example.org
Content-Description: Undelivered Message
Content-Type: message/rfc822
Content-Transfer-Encoding: 8bit

""" + head("hello", "orig-1") + """MIME-Version: 1.0
Content-Type: text/plain

Hello.

--B0UNCE.1767268800/mx.example.org--
""")

case("good", "outlook-same-name-twice", "-",
     "name= and filename= both present, one RFC 2047 and one RFC 2231, same name",
     head("twice") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="tw"

--tw
Content-Type: text/plain

x
--tw
Content-Type: application/octet-stream; name="=?utf-8?Q?r=C3=A9sum=C3=A9.pdf?="
Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf
Content-Transfer-Encoding: base64

""" + PDF + """--tw--
""")

case("good", "unquoted-outlook-boundary", "-",
     "an unquoted boundary with '=' and '.', as older mailers send",
     head("unquoted") + """MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=----=_NextPart_000_0001_01DA0000.12345678

This is a multi-part message in MIME format.

------=_NextPart_000_0001_01DA0000.12345678
Content-Type: text/plain;
	charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

Gr=FC=DFe

------=_NextPart_000_0001_01DA0000.12345678
Content-Type: text/html;
	charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

<p>Gr=FC=DFe</p>

------=_NextPart_000_0001_01DA0000.12345678--
""")

# ---- bad: one technique each ----------------------------------------------

MIXED_EICAR = """--x
Content-Type: text/plain

hello
--x
Content-Type: application/octet-stream; name="eicar.com"
Content-Transfer-Encoding: base64

""" + EICAR_B64 + """
--x--
"""


def bad(name, expected, what, text, crlf=True, raw=False):
    case("bad", name, expected, what, text, crlf, raw)


bad("dup-content-type", "DUP_HEADER",
    "two Content-Type headers: text/plain for readers taking the first, multipart for the last",
    head("dup ct") + "MIME-Version: 1.0\nContent-Type: text/plain\n"
    "Content-Type: multipart/mixed; boundary=x\n\n" + MIXED_EICAR)

bad("dup-cte", "DUP_HEADER", "two Content-Transfer-Encoding headers on one part",
    head("dup cte") + """MIME-Version: 1.0
Content-Type: application/octet-stream; name=e.com
Content-Transfer-Encoding: 7bit
Content-Transfer-Encoding: base64

""" + EICAR_B64 + "\n")

bad("dup-disposition", "DUP_HEADER", "two Content-Disposition headers with different names",
    head("dup cd") + """MIME-Version: 1.0
Content-Type: application/octet-stream
Content-Disposition: inline; filename=readme.txt
Content-Disposition: attachment; filename=setup.exe
Content-Transfer-Encoding: base64

""" + EICAR_B64 + "\n")

bad("two-boundary-params", "AMBIGUOUS", "boundary= given twice with different values",
    head("two boundaries") + "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=y; boundary=x\n\n" + MIXED_EICAR)

bad("boundary-2231-vs-plain", "AMBIGUOUS",
    "boundary= and boundary*= disagree (readers without RFC 2231 take the plain one)",
    head("2231 boundary") + "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=y; boundary*=''x\n\n" + MIXED_EICAR)

bad("boundary-in-comment", "AMBIGUOUS",
    "a boundary= inside a comment, seen by readers that ignore comment syntax",
    head("comment boundary") + "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; (boundary=y) boundary=x\n\n" + MIXED_EICAR)

bad("boundary-prefix-nested", "BAD_BOUNDARY",
    "inner boundary starts with the outer one: prefix-matching readers split differently",
    head("prefix") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=x

--x
Content-Type: multipart/mixed; boundary=xx

--xx
Content-Type: text/plain

inner
--xx
Content-Type: application/octet-stream; name=eicar.com
Content-Transfer-Encoding: base64

""" + EICAR_B64 + """
--xx--
--x--
""")

bad("boundary-reused-nested", "BAD_BOUNDARY", "nested multipart with the same boundary as its parent",
    head("reuse") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=x

--x
Content-Type: multipart/mixed; boundary=x

--x
Content-Type: application/octet-stream; name=eicar.com
Content-Transfer-Encoding: base64

""" + EICAR_B64 + """
--x--
--x--
""")

bad("boundary-trailing-junk", "BAD_BOUNDARY",
    "a line '--x' followed by text: a delimiter for prefix-matching readers only",
    head("junk") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=x

--x
Content-Type: text/plain

hello
--xHIDDEN
Content-Type: application/octet-stream; name=eicar.com
Content-Transfer-Encoding: base64

""" + EICAR_B64 + """
--x--
""")

bad("boundary-illegal-char", "BAD_BOUNDARY", "boundary with characters RFC 2046 forbids",
    head("illegal") + "MIME-Version: 1.0\nContent-Type: multipart/mixed; "
    "boundary=\"x@[];\\\"\"\n\n" + MIXED_EICAR.replace("--x", "--x@[];\""))

bad("boundary-overlong", "BAD_BOUNDARY", "boundary longer than 70 characters",
    head("overlong") + "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=" +
    "x" * 90 + "\n\n" + MIXED_EICAR.replace("--x", "--" + "x" * 90))

bad("boundary-missing", "BAD_BOUNDARY", "multipart without a boundary parameter",
    head("no boundary") + "MIME-Version: 1.0\nContent-Type: multipart/mixed\n\n" +
    MIXED_EICAR)

bad("boundary-empty", "BAD_BOUNDARY", "boundary=\"\"",
    head("empty boundary") + "MIME-Version: 1.0\nContent-Type: multipart/mixed; "
    "boundary=\"\"\n\n" + MIXED_EICAR.replace("--x", "--"))

bad("inner-closed-by-outer", "BAD_BOUNDARY",
    "an inner multipart ended by the outer boundary without its own close",
    head("inner open") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain

text
--outer
Content-Type: application/octet-stream; name=eicar.com
Content-Transfer-Encoding: base64

""" + EICAR_B64 + """
--outer--
""")

bad("base64-junk", "BAD_ENCODING", "base64 with characters outside the alphabet mixed in",
    head("b64 junk") + """MIME-Version: 1.0
Content-Type: application/octet-stream; name=eicar.com
Content-Transfer-Encoding: base64

""" + "!".join(EICAR_B64[i:i + 7] for i in range(0, len(EICAR_B64), 7)) + "\n")

bad("base64-after-padding", "BAD_ENCODING",
    "two base64 streams glued together: decoders stopping at '=' miss the second",
    head("b64 concat") + """MIME-Version: 1.0
Content-Type: application/octet-stream; name=eicar.com
Content-Transfer-Encoding: base64

SGk=
""" + EICAR_B64 + "\n")

bad("base64-no-padding", "BAD_ENCODING", "base64 whose last quantum lacks its padding",
    head("b64 nopad") + """MIME-Version: 1.0
Content-Type: application/octet-stream; name=a.bin
Content-Transfer-Encoding: base64

QUJDRA
""")

bad("qp-broken", "BAD_ENCODING", "quoted-printable with '=' not followed by hex or a line end",
    head("qp broken") + """MIME-Version: 1.0
Content-Type: text/plain
Content-Transfer-Encoding: quoted-printable

X5O!P%@AP[4\\PZX54(P^)7CC)7}=$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!=$H+H*
""")

bad("cte-unknown", "BAD_ENCODING", "an unknown transfer encoding ('base-64')",
    head("cte unknown") + """MIME-Version: 1.0
Content-Type: application/octet-stream; name=eicar.com
Content-Transfer-Encoding: base-64

""" + EICAR_B64 + "\n")

bad("base64-on-multipart", "ENCODING_NOT_ALLOWED", "Content-Transfer-Encoding: base64 on a multipart",
    head("b64 multipart") + "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=x\n"
    "Content-Transfer-Encoding: base64\n\n" + MIXED_EICAR)

bad("qp-on-rfc822", "ENCODING_NOT_ALLOWED", "quoted-printable on message/rfc822",
    head("qp rfc822") + """MIME-Version: 1.0
Content-Type: message/rfc822
Content-Transfer-Encoding: quoted-printable

Subject: inner
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

""" + EICAR_B64 + "\n")

bad("base64-on-rfc822", "ENCODING_NOT_ALLOWED", "a base64-encoded message/rfc822 part",
    head("b64 rfc822") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=x

--x
Content-Type: message/rfc822
Content-Transfer-Encoding: base64

""" + base64.encodebytes(("Subject: inner\nContent-Type: application/octet-stream\n"
                          "Content-Transfer-Encoding: base64\n\n" + EICAR_B64 +
                          "\n").encode()).decode() + """--x--
""")

bad("message-partial", "PARTIAL", "message/partial: the payload is split over several mails",
    head("partial") + """MIME-Version: 1.0
Content-Type: message/partial; id="abc@example.com"; number=1; total=2

Content-Type: application/octet-stream; name=eicar.com
Content-Transfer-Encoding: base64

WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FS
""")

bad("message-external-body", "PARTIAL", "message/external-body: the content is elsewhere",
    head("external") + """MIME-Version: 1.0
Content-Type: message/external-body; access-type=URL;
	URL="http://example.com/eicar.com"

Content-Type: application/octet-stream

""")

nest = head("deep") + "MIME-Version: 1.0\n"
for level in range(12):
    nest += "Content-Type: multipart/mixed; boundary=d%02d\n\n--d%02d\n" % (level, level)
nest += "Content-Type: application/octet-stream; name=eicar.com\n" \
    "Content-Transfer-Encoding: base64\n\n" + EICAR_B64 + "\n"
for level in reversed(range(12)):
    nest += "--d%02d--\n" % level
bad("deep-nesting", "DEPTH", "12 nested multiparts: past the depth limit", nest)

bad("nul-in-header", "CONTROL_CHARS", "a NUL byte inside Content-Type",
    head("nul") + "MIME-Version: 1.0\nContent-Type: text/plain\x00; boundary=x\n"
    "Content-Type: multipart/mixed; boundary=x\n\n" + MIXED_EICAR)

bad("control-in-cte", "CONTROL_CHARS", "a vertical tab inside the transfer encoding",
    head("vt") + """MIME-Version: 1.0
Content-Type: application/octet-stream; name=eicar.com
Content-Transfer-Encoding: base\x0b64

""" + EICAR_B64 + "\n")

bad("cr-only-folding", "AMBIGUOUS", "header folded with a bare CR: a line end to some readers only",
    (head("bare cr") + "MIME-Version: 1.0\n").replace("\n", "\r\n") +
    "Content-Type: text/plain;\r boundary=x\r\nX-Other: y\r\n\r\n" +
    MIXED_EICAR.replace("\n", "\r\n"), crlf=False, raw=True)

bad("cr-before-boundary", "AMBIGUOUS",
    "a boundary after a bare CR: a delimiter for readers splitting lines on CR",
    (head("cr boundary") + "MIME-Version: 1.0\nContent-Type: multipart/mixed; "
     "boundary=x\n\n--x\nContent-Type: text/plain\n\nhello").replace("\n", "\r\n") +
    "\r--x\rContent-Type: application/octet-stream; name=eicar.com\r"
    "Content-Transfer-Encoding: base64\r\r" + EICAR_B64 + "\r\n--x--\r\n",
    crlf=False, raw=True)

bad("header-no-colon", "AMBIGUOUS",
    "a line without a colon in the header: the body starts there for some readers",
    head("no colon") + "MIME-Version: 1.0\nX-Pad-Line-Without-Colon\n"
    "Content-Type: multipart/mixed; boundary=x\n\n" + MIXED_EICAR)

bad("space-before-colon", "AMBIGUOUS", "'Content-Type : ...' (obsolete syntax)",
    head("space colon") + "MIME-Version: 1.0\n"
    "Content-Type : multipart/mixed; boundary=x\n\n" + MIXED_EICAR)

bad("8bit-header-name", "AMBIGUOUS", "an 8-bit byte in a header name",
    head("8bit name") + "MIME-Version: 1.0\n"
    "Content-Typ\xe9: multipart/mixed; boundary=x\n"
    "Content-Type: multipart/mixed; boundary=x\n\n" + MIXED_EICAR)

bad("ct-comma", "AMBIGUOUS", "two types in one Content-Type, separated by a comma",
    head("comma") + "MIME-Version: 1.0\n"
    "Content-Type: text/plain, multipart/mixed; boundary=x\n\n" + MIXED_EICAR)

bad("ct-no-subtype", "AMBIGUOUS", "'Content-Type: multipart' without a subtype",
    head("no subtype") + "MIME-Version: 1.0\n"
    "Content-Type: multipart; boundary=x\n\n" + MIXED_EICAR)

bad("name-filename-differ", "AMBIGUOUS", "name=invoice.pdf but filename=invoice.exe",
    head("names") + """MIME-Version: 1.0
Content-Type: application/pdf; name="invoice.pdf"
Content-Disposition: attachment; filename="invoice.exe"
Content-Transfer-Encoding: base64

""" + EICAR_B64 + "\n")

bad("dup-filename", "AMBIGUOUS", "filename= given twice with different values",
    head("two names") + """MIME-Version: 1.0
Content-Type: application/octet-stream
Content-Disposition: attachment; filename="a.txt"; filename="a.exe"
Content-Transfer-Encoding: base64

""" + EICAR_B64 + "\n")

bad("unterminated-quote", "AMBIGUOUS,BAD_BOUNDARY",
    "an unterminated quoted boundary: readers disagree where it ends",
    head("quote") + "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"x; charset=us-ascii\n\n" + MIXED_EICAR)

bad("blank-folded-line", "AMBIGUOUS",
    "a whitespace-only line in the header: a folded line to some, the end of the header to others",
    head("blank fold") + "MIME-Version: 1.0\n \n"
    "Content-Type: multipart/mixed; boundary=x\n\n" + MIXED_EICAR)

bad("part-header-folded-first", "AMBIGUOUS", "a part header that starts with a folded line",
    head("first fold") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=x

--x
 Content-Type: text/plain
Content-Type: application/octet-stream; name=eicar.com
Content-Transfer-Encoding: base64

""" + EICAR_B64 + """
--x--
""")

bad("too-many-parts", "LIMIT", "1001 empty parts: past the part limit",
    head("many") + "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=m\n\n" +
    "--m\n\n" * 1001 + "--m--\n")


# ---- control: legal but unusual, clean; never flagged, never scanned whole --


def control(name, what, text, crlf=True, raw=False):
    case("control", name, "-", what, text, crlf, raw)


TXT_B64 = base64.encodebytes(b"harmless attachment\n" * 4).decode()

control("comments-where-allowed",
        "comments after the type, after a quoted boundary, in the disposition and the encoding",
        head("comments") + """MIME-Version: 1.0 (produced by hand)
Content-Type: multipart/mixed (a comment) ; boundary="c1" (the boundary)

--c1
Content-Type: text/plain (plain text); charset=us-ascii (ascii)

hello
--c1
Content-Type: application/octet-stream; name="a.txt" (a name)
Content-Disposition: attachment (c); filename="a.txt" (a file name)
Content-Transfer-Encoding: base64 (encoded by hand)

""" + TXT_B64 + """--c1--
""")

control("multipart-unclosed", "the close delimiter never comes (truncated mail)",
        head("unclosed") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="trunc"

--trunc
Content-Type: text/plain

first part
--trunc
Content-Type: application/octet-stream; name="b.bin"
Content-Transfer-Encoding: base64

""" + TXT_B64)

control("long-folded-headers", "a 3,000-character folded Subject, a 10 KB References line, parameters folded with tabs",
        HEAD.format(subject=" ".join("word%d" % i for i in range(400)).replace(
            "0 ", "0\n\t"), mid="long") +
        "References: " + " ".join("<ref%d@example.com>" % i for i in range(500)) + "\n" +
        """MIME-Version: 1.0
Content-Type:
	multipart/mixed;
	boundary=
	"folded-boundary";
	charset="us-ascii"

--folded-boundary
Content-Type: text/plain;
 charset="utf-8";
  format=flowed

folded
--folded-boundary--
""")

control("8bit-headers", "raw UTF-8 in Subject, a display name and a quoted file name",
        "From: J\u00fcrgen M\u00fcller <jm@example.com>\nTo: bob@example.org\n"
        "Subject: Gr\u00fc\u00dfe aus K\u00f6ln \u2013 \u00e9t\u00e9\n"
        "Date: Thu, 01 Jan 2026 12:00:00 +0000\nMessage-ID: <8bit@example.com>\n"
        """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="8b"

--8b
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

K\u00f6ln
--8b
Content-Type: application/octet-stream; name="r\u00e9sum\u00e9.txt"
Content-Disposition: attachment; filename="r\u00e9sum\u00e9.txt"
Content-Transfer-Encoding: base64

""" + TXT_B64 + """--8b--
""")

B70 = "0123456789'()+_,-./:=? abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUz"[:70]
control("unusual-boundary-chars",
        "boundaries of every legal special, 70 characters, digits only, starting with dashes",
        head("bchars") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="%s"

--%s
Content-Type: multipart/alternative; boundary="------------1234567890"

--------------1234567890
Content-Type: text/plain

plain
--------------1234567890
Content-Type: multipart/related; boundary=0987654321

--0987654321
Content-Type: text/html

<p>html</p>
--0987654321--
--------------1234567890--
--%s
Content-Type: application/octet-stream; name="c.txt"
Content-Transfer-Encoding: base64

%s--%s--
""" % (B70, B70, B70, TXT_B64, B70))

control("spaces-around-equals", "blanks around '=' and a plain token boundary",
        head("eq") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary = simple_token-1.x

--simple_token-1.x
Content-Type: text/plain; charset = "us-ascii"

spaced
--simple_token-1.x--
""")

control("repeated-close", "the close delimiter twice: the second is epilogue text to every reader",
        head("twice") + """MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="rc"

--rc
Content-Type: text/plain

once
--rc--
--rc--
""")


def write():
    lines = ["# FILE\tANOMALIES (comma-separated; - for none)\t# what it is",
             "# written by make-corpus.py: edit that, not this"]
    for kind, name, expected, what, text, crlf, raw in CASES:
        path = os.path.join(HERE, kind, name + ".eml")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = text if raw or not crlf else text.replace("\n", "\r\n")
        with open(path, "wb") as f:
            f.write(data.encode("utf-8", "surrogateescape")
                    if any(ord(c) > 0xff for c in data) else data.encode("latin-1"))
        lines.append("%s/%s.eml\t%s\t# %s" % (kind, name, expected, what))
    with open(os.path.join(HERE, "EXPECTED"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    write()
