#!/usr/bin/env python3
"""milter-seeds.py OUTDIR MAIL... - writes fuzz_milter inputs: SMTP
sessions (connect, helo, envelope, the headers and body of each mail, eom
with a few engine answers, close) encoded as fuzz_milter.c reads them."""
import os
import re
import struct
import sys

MAX_INPUT = 60000


def s8(b):
    b = b[:255]
    return bytes([len(b)]) + b


def s16(b):
    b = b[:1024]
    return struct.pack('>H', len(b)) + b


def argv(addr, args):
    out = bytes([len(args)]) + s8(addr)
    for kind, tail in args:
        out += bytes([kind]) + s8(tail)
    return out


def session(mail, verdict, extra=b''):
    head, _, body = mail.replace(b'\r\n', b'\n').partition(b'\n\n')
    # connect: IPv4, the MTA offers every step flag (as Postfix does)
    ops = bytes([0, 1, 0x1f, 0xff, 0xff]) + s8(b'client.example') + \
        bytes([192, 0, 2, 1] * 4)
    ops += bytes([1]) + s8(b'client.example')
    ops += bytes([13, 0]) + s8(b'4XyZ12')                  # macro i
    ops += bytes([2]) + argv(b'<sender@example.org>',
                             [(0, str(len(mail)).encode()), (1, b'')])
    ops += bytes([3]) + argv(b'<rcpt@example.net>', [])
    ops += extra
    for h in re.split(rb'\n(?![ \t])', head):
        name, sep, value = h.partition(b':')
        if not sep or not name or len(name) > 64:
            continue
        ops += bytes([5, 200, 0]) + s8(name) + s16(value.lstrip(b' '))
    ops += bytes([6])
    body = body.replace(b'\n', b'\r\n')
    for i in range(0, len(body), 8192):
        if len(ops) > MAX_INPUT - 9000:
            break
        chunk = body[i:i + 8192]
        ops += bytes([7]) + struct.pack('>H', len(chunk)) + chunk
    ops += bytes([9, verdict]) + s8(b'Fuzz.Virus') + s8(b'Fuzz.Two') + \
        s8(b'Fuzz.Three')
    return ops + bytes([12])


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for path in sys.argv[2:]:
        with open(path, 'rb') as f:
            mail = f.read()
        base = os.path.basename(path).rsplit('.', 1)[0]
        # clean; av1 infected (reject); av2 infected (strip: the whole
        # message, then its parts only); av2
        # unscannable (quarantine); av3 infected (discard); av1 error
        for v in (0x00, 0x01, 0x04, 0x44, 0x08, 0x10, 0x03):
            with open(os.path.join(out, '%s-%02x.ops' % (base, v)),
                      'wb') as f:
                f.write(session(mail, v))
        # our own headers arrive with the message (spoofed), an abort
        # mid-message, then the message again on the same connection
        spoof = bytes([5, 1, 2]) + s8(b'') + s16(b'Clean') + \
            bytes([5, 6, 0]) + s8(b'') + s16(b'spoofed')
        two = session(mail, 0x00, spoof)
        with open(os.path.join(out, '%s-spoof.ops' % base), 'wb') as f:
            f.write(two)
        with open(os.path.join(out, '%s-abort.ops' % base), 'wb') as f:
            f.write(session(mail, 0x04)[:-1][:2000] + bytes([10]) +
                    session(mail, 0x01)[:MAX_INPUT - 2100])


main()
