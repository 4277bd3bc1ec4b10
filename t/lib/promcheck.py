#!/usr/bin/env python3
"""Checks a Prometheus text exposition (format 0.0.4) read from a file or stdin.

    promcheck.py [FILE]      exit 0 if well formed; else one line per problem, exit 1

Checks: not empty, at least one sample; line syntax (HELP/TYPE comments, samples with
escaped label values and a float value), metric and label names, one TYPE per family given
before its samples, a family's samples contiguous, no duplicate series, counters named
*_total, histograms with cumulative buckets, a +Inf bucket equal to _count, and a _sum.
"""
import math
import re
import sys
from collections import defaultdict

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*'
SAMPLE = re.compile(r'^(' + NAME + r')(\{(.*)\})? (\S+)( -?\d+)?$')
LABEL_PAIR = re.compile(r'(' + LABEL + r')="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')
TYPES = {'counter', 'gauge', 'histogram', 'summary', 'untyped'}


def parse_labels(text):
    labels, pos = {}, 0
    while pos < len(text):
        m = LABEL_PAIR.match(text, pos)
        if not m:
            return None
        if m.group(1) in labels:
            return None
        labels[m.group(1)] = m.group(2)
        pos = m.end()
    return labels


def parse_value(text):
    if text in ('+Inf', '-Inf', 'NaN'):
        return float(text.replace('Inf', 'inf').replace('NaN', 'nan'))
    return float(text)


def family_of(name, types):
    for suffix in ('_bucket', '_sum', '_count'):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and types.get(base) in ('histogram', 'summary'):
            return base
    return name


def check(text):
    errors = []
    if not text.strip():
        return ['empty: no exposition at all']
    if not text.endswith('\n'):
        errors.append('does not end with a newline')
    types, helps, seen_series = {}, set(), set()
    done_families, current = set(), None
    hist = defaultdict(lambda: defaultdict(dict))  # family -> labels-key -> data
    for n, line in enumerate(text.split('\n')[:-1], 1):
        where = 'line %d' % n
        if line.startswith('#'):
            parts = line.split(' ', 3)
            if len(parts) >= 3 and parts[1] in ('HELP', 'TYPE'):
                if not re.fullmatch(NAME, parts[2]):
                    errors.append('%s: bad metric name %r' % (where, parts[2]))
                if parts[1] == 'TYPE':
                    t = parts[3] if len(parts) > 3 else ''
                    if t not in TYPES:
                        errors.append('%s: unknown type %r' % (where, t))
                    if parts[2] in types:
                        errors.append('%s: second TYPE for %s' % (where, parts[2]))
                    if parts[2] in done_families or parts[2] == current:
                        errors.append('%s: TYPE for %s after its samples' % (where, parts[2]))
                    types[parts[2]] = t
                else:
                    if parts[2] in helps:
                        errors.append('%s: second HELP for %s' % (where, parts[2]))
                    helps.add(parts[2])
            continue
        if line == '':
            errors.append('%s: empty line' % where)
            continue
        m = SAMPLE.match(line)
        if not m:
            errors.append('%s: not a sample: %r' % (where, line))
            continue
        name, labels_text, value_text = m.group(1), m.group(3) or '', m.group(4)
        labels = parse_labels(labels_text)
        if labels is None:
            errors.append('%s: bad labels {%s}' % (where, labels_text))
            continue
        try:
            value = parse_value(value_text)
        except ValueError:
            errors.append('%s: bad value %r' % (where, value_text))
            continue
        fam = family_of(name, types)
        if fam != current:
            if fam in done_families:
                errors.append('%s: samples of %s are not contiguous' % (where, fam))
            if current is not None:
                done_families.add(current)
            current = fam
        key = (name, tuple(sorted(labels.items())))
        if key in seen_series:
            errors.append('%s: duplicate series %s' % (where, line))
        seen_series.add(key)
        t = types.get(fam, 'untyped')
        if t == 'counter':
            if not name.endswith('_total'):
                errors.append('%s: counter %s not named *_total' % (where, name))
            if value < 0 or math.isnan(value):
                errors.append('%s: counter %s is %s' % (where, name, value_text))
        if t == 'histogram':
            rest = tuple(sorted((k, v) for k, v in labels.items() if k != 'le'))
            h = hist[fam][rest]
            if name == fam + '_bucket':
                if 'le' not in labels:
                    errors.append('%s: bucket without le' % where)
                    continue
                h.setdefault('buckets', []).append((parse_value(labels['le']), value))
            elif name == fam + '_count':
                h['count'] = value
            elif name == fam + '_sum':
                h['sum'] = value
            else:
                errors.append('%s: %s in histogram %s' % (where, name, fam))
    if not seen_series:
        errors.append('no samples')
    for fam, series in hist.items():
        for rest, h in series.items():
            b = h.get('buckets', [])
            les = [le for le, _ in b]
            if les != sorted(les) or not b or not math.isinf(les[-1]):
                errors.append('%s%s: buckets not ascending to +Inf' % (fam, dict(rest)))
            counts = [c for _, c in b]
            if counts != sorted(counts):
                errors.append('%s%s: buckets not cumulative' % (fam, dict(rest)))
            if 'count' not in h or 'sum' not in h:
                errors.append('%s%s: _count or _sum missing' % (fam, dict(rest)))
            elif b and counts[-1] != h['count']:
                errors.append('%s%s: +Inf bucket %s != _count %s' %
                              (fam, dict(rest), counts[-1], h['count']))
    return errors


def main():
    text = open(sys.argv[1]).read() if len(sys.argv) > 1 else sys.stdin.read()
    errors = check(text)
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
