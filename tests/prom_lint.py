#!/usr/bin/python3
# tests/prom_lint.py FILE|- : validates Prometheus text exposition (format 0.0.4) the way the
# tests need it, standing in for `promtool check metrics` (Debian's prometheus package is ~96 MB):
# the reference client's parser (python3-prometheus-client) must accept the whole text, and
# promtool's lint rules are applied on top: every family has HELP and TYPE before its samples,
# names are valid, counters end in _total, no series appears twice, histograms have cumulative
# buckets ending in le="+Inf" equal to _count, plus _sum. Prints each problem; exits 1 on any.
import re
import sys

from prometheus_client.parser import text_string_to_metric_families

NAME = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*$')
LABEL = re.compile(r'^[a-zA-Z_][a-zA-Z0-9_]*$')


def main():
    text = sys.stdin.read() if sys.argv[1] == '-' else open(sys.argv[1]).read()
    problems = []
    if text and not text.endswith('\n'):
        problems.append('text does not end with a newline')
    helps, types, seen_samples = {}, {}, set()
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith('# HELP '):
            name = line.split(' ', 3)[2]
            if name in helps:
                problems.append(f'line {n}: second HELP for {name}')
            helps[name] = n
        elif line.startswith('# TYPE '):
            parts = line.split(' ')
            if len(parts) != 4 or parts[3] not in ('counter', 'gauge', 'histogram', 'summary',
                                                   'untyped'):
                problems.append(f'line {n}: bad TYPE line')
                continue
            if parts[2] in types:
                problems.append(f'line {n}: second TYPE for {parts[2]}')
            types[parts[2]] = (parts[3], n)
        elif line and not line.startswith('#'):
            name = re.split(r'[{ ]', line, 1)[0]
            base = re.sub(r'_(bucket|sum|count)$', '', name)
            fam = name if name in types else base
            if fam not in types:
                problems.append(f'line {n}: {name} has no TYPE before it')
            elif fam not in helps:
                problems.append(f'line {n}: {fam} has no HELP')
            series = line.rsplit(' ', 1)[0]
            if series in seen_samples:
                problems.append(f'line {n}: series {series} appears twice')
            seen_samples.add(series)
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser's own verdict
        problems.append(f'parser: {e}')
        families = []
    for f in families:
        if not NAME.match(f.name):
            problems.append(f'{f.name}: invalid metric name')
        t = types.get(f.name) or types.get(f.name + '_total')
        if t and t[0] == 'counter' and not (f.name + '_total' in types or
                                            f.name.endswith('_total')):
            problems.append(f'{f.name}: counter names should end in _total')
        for s in f.samples:
            for k in s.labels:
                if not LABEL.match(k) or k.startswith('__'):
                    problems.append(f'{s.name}: invalid label name {k}')
        if f.type == 'histogram':
            groups = {}
            for s in f.samples:
                key = tuple(sorted((k, v) for k, v in s.labels.items() if k != 'le'))
                groups.setdefault(key, {'buckets': [], 'sum': None, 'count': None})
                if s.name.endswith('_bucket'):
                    groups[key]['buckets'].append((float(s.labels['le']), s.value))
                elif s.name.endswith('_sum'):
                    groups[key]['sum'] = s.value
                elif s.name.endswith('_count'):
                    groups[key]['count'] = s.value
            for key, g in groups.items():
                b = g['buckets']
                if not b or b[-1][0] != float('inf'):
                    problems.append(f'{f.name}{dict(key)}: no le="+Inf" bucket last')
                if any(b[i][1] > b[i + 1][1] or b[i][0] >= b[i + 1][0] for i in range(len(b) - 1)):
                    problems.append(f'{f.name}{dict(key)}: buckets not cumulative and ordered')
                if g['sum'] is None or g['count'] is None:
                    problems.append(f'{f.name}{dict(key)}: _sum or _count missing')
                elif b and b[-1][1] != g['count']:
                    problems.append(f'{f.name}{dict(key)}: +Inf bucket != _count')
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
