#!/usr/bin/python3
# tests/prom_lint.py FILE|- : what `promtool check metrics` (Prometheus 2.42, Debian 12; see
# tests/fixtures/promtool.sh) does not check in a Prometheus text exposition, and the tests run
# beside it (tests/promcheck.bash; issue 8). promtool parses the text and lints names, HELP and
# units, but accepts the same series twice, a family whose samples are split by another family,
# and a histogram with buckets out of order, not cumulative, without le="+Inf" or with a +Inf
# bucket other than _count. The reference client's parser (python3-prometheus-client) reads the
# samples. Prints each problem; exits 1 on any.
import re
import sys

from prometheus_client.parser import text_string_to_metric_families


def family_of(name, types):
    if name in types:
        return name
    return re.sub(r'_(bucket|sum|count)$', '', name)


def main():
    text = sys.stdin.read() if sys.argv[1] == '-' else open(sys.argv[1]).read()
    problems = []
    types, seen, done, current = {}, set(), set(), None
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith('# TYPE '):
            parts = line.split(' ')
            if len(parts) == 4:
                types[parts[2]] = parts[3]
            continue
        if not line or line.startswith('#'):
            continue
        name = re.split(r'[{ ]', line, maxsplit=1)[0]
        fam = family_of(name, types)
        if fam != current:
            if fam in done:
                problems.append(f'line {n}: samples of {fam} are split by another family')
            if current:
                done.add(current)
            current = fam
        series = line.rsplit(' ', 1)[0]
        if series in seen:
            problems.append(f'line {n}: series {series} appears twice')
        seen.add(series)
    try:
        families = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser's own verdict
        problems.append(f'parser: {e}')
        families = []
    for f in families:
        if f.type != 'histogram':
            continue
        groups = {}
        for s in f.samples:
            key = tuple(sorted((k, v) for k, v in s.labels.items() if k != 'le'))
            g = groups.setdefault(key, {'buckets': [], 'sum': None, 'count': None})
            if s.name.endswith('_bucket'):
                g['buckets'].append((float(s.labels['le']), s.value))
            elif s.name.endswith('_sum'):
                g['sum'] = s.value
            elif s.name.endswith('_count'):
                g['count'] = s.value
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
