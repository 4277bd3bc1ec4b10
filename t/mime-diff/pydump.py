#!/usr/bin/env python3
"""pydump.py [-H] FILE... - Python's email package's view of each message, in the
form t/mime-diff/mimedump prints scanmilter's: one line per leaf part,

    DEPTH <TAB> TYPE <TAB> FILENAME <TAB> LENGTH <TAB> SHA256

from email.message_from_bytes(policy=email.policy.default), walking the tree
(multipart children and the message inside message/rfc822 one level deeper)
and decoding each leaf with get_payload(decode=True).  -H: a line "== FILE"
before each file's lines.  Standard library only.
"""

import email
import email.policy
import hashlib
import sys


def clean(name):
    """File name as mimedump prints it: UTF-8, control bytes as '_'."""
    b = name.encode("utf-8", "surrogateescape")[:255]
    return bytes(c if c >= 0x20 and c != 0x7F else 0x5F for c in b).decode(
        "utf-8", "replace")


def leaves(part, depth, out):
    if part.is_multipart():
        for sub in part.get_payload():
            leaves(sub, depth + 1, out)
        return
    data = part.get_payload(decode=True)
    if data is None:
        data = b""
    name = part.get_filename() or ""
    out.append("%d\t%s\t%s\t%d\t%s" % (depth, part.get_content_type(),
                                       clean(name), len(data),
                                       hashlib.sha256(data).hexdigest()))


def main():
    args = sys.argv[1:]
    names = args[:1] == ["-H"]
    if names:
        args = args[1:]
    for path in args:
        if names:
            sys.stdout.buffer.write(("== %s\n" % path).encode("utf-8", "surrogateescape"))
        with open(path, "rb") as f:
            msg = email.message_from_bytes(f.read(), policy=email.policy.default)
        out = []
        leaves(msg, 0, out)
        if out:
            sys.stdout.buffer.write(("\n".join(out) + "\n").encode("utf-8", "surrogateescape"))


if __name__ == "__main__":
    main()
