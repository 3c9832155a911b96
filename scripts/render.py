#!/usr/bin/env python3
"""render.py - `make report`: reports/out/index.html and index.md.

  scripts/render.py            (REPORT_OUT=dir overrides reports/out)

One static page (no network: inline CSS and inline SVG plots made by
gnuplot) and its markdown twin, joining whatever exists of
reports/out/{check,spec-coverage,coverage,fuzz,stress,bench}.json.  A
missing file gets a "not run" note; a file of an unknown shape is shown
generically (its scalar fields and tables).

Plots (from bench.json): efficiency (against the same-run floor) per module,
latency percentiles per primitive against its baselines (spin and blocking),
throughput and bandwidth against message size, slot latency against sample
size.  The SVGs are also written to reports/out/plots/ for index.md.
"""
import datetime
import glob
import html
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTIONS = [('check', 'Tests (make check)', 'make check'),
            ('spec-coverage', 'Spec coverage', 'make spec-coverage'),
            ('coverage', 'Code coverage', 'make coverage'),
            ('fuzz', 'Fuzzing', 'make fuzz'),
            ('stress', 'Stress', 'make stress'),
            ('bench', 'Benchmarks', 'make bench')]
KEY_COLS = ('file', 'id', 'name', 'program', 'target')
FIXED_PLOTS = ['latency-spin', 'latency-blocking', 'throughput', 'bandwidth', 'slots']

CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:12.5px;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;white-space:nowrap}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.scroll{overflow-x:auto;max-height:36em;overflow-y:auto}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:0 1em}dl.facts dt{font-weight:600}dl.facts dd{margin:0}
.ok{color:#176f2c;font-weight:600}.bad{color:#b00020;font-weight:600}.nj{color:#8a6d00}.muted{color:#777}
.badge{display:inline-block;padding:1px 8px;border-radius:9px;background:#eee;margin-left:.5em;font-size:12px}
nav a{margin-right:1em}svg{max-width:100%;height:auto}"""


# ------------------------------------------------------------------ values

def s(v):
    """A value as text, the way the JSON would spell it (null, true, 1.5)."""
    if v is None:
        return 'null'
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e17 else repr(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(',', ':'))
    return str(v)


def against(t):
    """A target's `vs`; an interleaved row (bench/ilv.h) says so, with the
    ratio to the floor's separate run beside it for reference."""
    if t.get('pairing') != 'interleaved':
        return t.get('vs')
    return '%s (interleaved; separate runs: %s)' % (s(t.get('vs')), num(t.get('separate_ratio')))


def shape(t):
    """A target's floor in the module's layout (informational, judges
    nothing): the ilv_ratio of the floor protocol with its messages laid
    out as the module lays them out, and the result's efficiency against
    it."""
    if not t.get('shape'):
        return '-'
    return '%s (efficiency %s)' % (num(t.get('shape_ratio')), num(t.get('shape_efficiency')))


def band(b):
    return '%s-%s' % (s(b[0]), s(b[1])) if isinstance(b, list) and len(b) == 2 else s(b)


def self_check(c):
    """A self-check's verdict (a protocol interleaved with itself: its
    ilv_ratio must lie in the band, else the run's interleaved rows are
    not to be trusted)."""
    if c.get('broken') is None:
        return 'self-check: no ratio'
    return 'self-check %s (band %s)%s' % (num(c.get('ilv_ratio')), band(c.get('band')),
                                          ': BROKEN' if c.get('broken') else '')


def esc(v):
    return html.escape(s(v), quote=True).replace('&#x27;', "'")


def rnd(x):
    """Rounds half away from zero."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


def num(v):
    """A number shortened for a table cell (1.23G, 4.5k, 0.00123); null is -."""
    if v is None:
        return '-'
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return s(v)
    a = abs(v)
    if a >= 1e9:
        return s(rnd(v / 1e9 * 100) / 100) + 'G'
    if a >= 1e6:
        return s(rnd(v / 1e6 * 100) / 100) + 'M'
    if a >= 1e4:
        return s(rnd(v / 1e3 * 10) / 10) + 'k'
    if a >= 100:
        return s(rnd(v))
    if v != 0 and a < 0.01:
        m = 10.0 ** (2 - math.floor(math.log10(a)))
        return s(rnd(v * m) / m)
    return s(rnd(v * 1000) / 1000)


def mdesc(v):
    return s(v).replace('|', '\\|').replace('\n', ' ')


def cell(v):
    """A table cell's text: numbers shortened, null and false empty."""
    if v is None or v is False:
        return ''
    return num(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


def scalar(v):
    return not isinstance(v, (dict, list))


def pct(cv):
    return '-' if cv is None else s(rnd(cv * 1000) / 10) + '%'


def order(v):
    """Sort key: null < false < true < numbers < strings < arrays < objects."""
    if v is None:
        return (0,)
    if isinstance(v, bool):
        return (1, v)
    if isinstance(v, (int, float)):
        return (2, v)
    if isinstance(v, str):
        return (3, v)
    if isinstance(v, list):
        return (4, tuple(order(x) for x in v))
    return (5, s(v))


def group(rows, key):
    """Rows grouped by key(row), groups in key order."""
    groups = {}
    for r in rows:
        groups.setdefault(json.dumps(key(r)), []).append(r)
    return [groups[k] for k in sorted(groups, key=lambda k: order(json.loads(k)))]


def gp_text(name):
    """Escapes _ for gnuplot's enhanced text inside a double-quoted string."""
    return s(name).replace('_', '\\\\_')


# ------------------------------------------------------------------ plots

def plot(plots, tmp, name, title, ylabel, xlabel, series, extra=''):
    """series: [(title, [(x, y)...])]; writes plots/<name>.svg with gnuplot."""
    series = [(t, pts) for t, pts in series if pts]
    if not series:
        return
    svg = os.path.join(plots, name + '.svg')
    lines = ["set terminal svg size 860,420 dynamic enhanced font 'sans,11' background '#ffffff'",
             "set output '%s'" % svg, 'set title "%s"' % title,
             'set ylabel "%s"; set xlabel "%s"' % (ylabel, xlabel),
             'set logscale y; set grid; set key outside right top; set style data linespoints',
             'set logscale x 2', extra]
    cmd = []
    for i, (t, pts) in enumerate(series):
        lines.append('$D%d << EOD%d' % (i, i))
        lines += ['%s %s' % (s(x), s(y)) for x, y in pts]
        lines.append('EOD%d' % i)
        cmd.append('$D%d using 1:2 title "%s" lw 2 pt %d' % (i, t, i % 12 + 1))
    lines.append('plot ' + ', '.join(cmd))
    gp = os.path.join(tmp, name + '.gp')
    with open(gp, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    p = subprocess.run(['gnuplot', gp], capture_output=True, text=True)
    if p.returncode != 0:
        err = ' '.join(p.stderr.splitlines()[:3])
        print('render: gnuplot %s failed: %s' % (name, err), file=sys.stderr)
        if os.path.exists(svg):
            os.remove(svg)


def oversub(g):
    return ' (oversubscribed)' if g[0].get('oversubscribed') else ''


def bench_plots(b, plots, tmp):
    res = [r for r in b.get('results') or [] if isinstance(r, dict)]
    ok = [r for r in res if r.get('error') is None]
    # Efficiency per primitive and size, like a roofline's distance to the
    # machine's limit: one plot per module, one curve per pattern and
    # placement; floors, at 1 by definition, left out.
    mods = sorted({r.get('module') for r in res if r.get('efficiency') is not None}, key=order)
    for mod in mods:
        rows = [r for r in ok if r.get('module') == mod and r.get('efficiency') is not None
                and r.get('floor') != r.get('name')]
        series = []
        for g in group(rows, lambda r: [r.get('pattern'), r.get('placement')]):
            g.sort(key=lambda r: order(r.get('bytes')))
            t = gp_text('%s/%s' % (s(g[0].get('pattern')), s(g[0].get('placement')))) + oversub(g)
            series.append((t, [(r.get('bytes'), r['efficiency']) for r in g]))
        plot(plots, tmp, 'efficiency-%s' % s(mod),
             '%s: efficiency = floor / measured (latency), measured / floor (throughput)' % gp_text(mod),
             'efficiency (1 = the floor)', 'payload bytes', series,
             "set yrange [0.001:2]; set format y '%g'; set format x '%.0b%B'")
    # Latency percentiles (x: percentile as 1/(1-q), labelled), one curve per result.
    for kind in ('spin', 'blocking'):
        series = []
        for r in ok:
            if r.get('p50_ns') is None or not re.search('rtt$', s(r.get('pattern'))):
                continue
            if (r.get('mode') == 'spin') != (kind == 'spin'):
                continue
            slots = r.get('module') == 'slots'
            if not (r.get('param') in (8, 64) or slots) or (slots and r.get('param') != 64):
                continue
            p90 = r.get('p90_ns') if r.get('p90_ns') is not None else r['p50_ns']
            series.append((gp_text(r.get('name')), [(2, r['p50_ns']), (10, p90),
                                                    (100, r.get('p99_ns')), (1000, r.get('p999_ns'))]))
        plot(plots, tmp, 'latency-' + kind, 'Round-trip latency percentiles (%s, 8/64 B)' % kind,
             'ns', 'percentile', series,
             "set xtics ('p50' 2, 'p90' 10, 'p99' 100, 'p99.9' 1000); set logscale x 10")
    # Throughput and bandwidth vs message size.
    for name, field, scale, title, ylabel in (
            ('throughput', 'items_per_second', 1, 'Throughput vs message size (cross-CPU)', 'messages/s'),
            ('bandwidth', 'bytes_per_second', 1e9, 'Bandwidth vs message size (cross-CPU)', 'GB/s')):
        rows = [r for r in ok if re.search('tput$', s(r.get('pattern'))) and r.get(field) is not None]
        series = []
        for g in group(rows, lambda r: r.get('pattern')):
            g.sort(key=lambda r: order(r.get('param')))
            t = '%s/%s' % (s(g[0].get('module')), gp_text(g[0].get('pattern')))
            t += oversub(g) if name == 'throughput' else ''
            series.append((t, [(r.get('param'), r[field] / scale if scale != 1 else r[field]) for r in g]))
        plot(plots, tmp, name, title, ylabel, 'message bytes', series)
    # Slot latency vs sample size.
    rows = [r for r in ok if r.get('module') == 'slots' and re.search('rtt$|op$', s(r.get('pattern')))
            and r.get('p50_ns') is not None]
    series = []
    for g in group(rows, lambda r: r.get('pattern')):
        g.sort(key=lambda r: order(r.get('param')))
        p = gp_text(g[0].get('pattern'))
        series.append((p + ' p50', [(r.get('param'), r['p50_ns']) for r in g]))
        series.append((p + ' p99', [(r.get('param'), r.get('p99_ns')) for r in g]))
    plot(plots, tmp, 'slots', 'Slots: loan, commit, read, mark read vs sample size', 'ns',
         'sample bytes', series)


def plot_names(plots):
    eff = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(plots, 'efficiency-*.svg')))
    return [p for p in eff + FIXED_PLOTS if os.path.exists(os.path.join(plots, p + '.svg'))
            and os.path.getsize(os.path.join(plots, p + '.svg'))]


# ------------------------------------------------------------------ sections

def summary(name, d):
    t = d.get('totals') or {}

    def g(obj, k):
        v = obj.get(k)
        return '?' if v is None or v is False else s(v)
    if name == 'check':
        return '%s — %s passed, %s failed, %s skipped in %s programs' % (
            g(d, 'result'), g(t, 'passed'), g(t, 'failed'), g(t, 'skipped'), g(t, 'programs'))
    if name == 'spec-coverage':
        return '%s — %s clauses, %s ok, %s missing impl, %s missing test, %s failed test' % (
            'gate passes' if d.get('passed') else 'gate FAILS', g(t, 'clauses'), g(t, 'ok'),
            g(t, 'missing_impl'), g(t, 'missing_test'), g(t, 'failed_test'))
    if name == 'coverage':
        return 'lines %s %%, branches %s %%, functions %s/%s' % (
            g(t, 'line_pct'), g(t, 'branch_pct'), g(t, 'functions_covered'), g(t, 'functions'))
    if name == 'fuzz':
        return '%d targets' % len(d['targets']) if isinstance(d.get('targets'), list) else 'fuzz results'
    if name == 'bench':
        res, tg = d.get('results') or [], d.get('targets') or []
        head = '%d results, %d errors; targets: ' % (len(res), sum(1 for r in res if r.get('error')))
        if (d.get('run') or {}).get('quick'):
            return head + '%d, not judged (QUICK run)' % len(tg)
        return head + '%d met, %d missed, %d unsure, %d not judged' % (
            sum(1 for x in tg if x.get('met') is True), sum(1 for x in tg if x.get('met') is False),
            sum(1 for x in tg if x.get('unsure') is True), sum(1 for x in tg if not x.get('judged')))
    return s(d.get('schema') or 'results')


def table_cols(rows, n):
    keys = sorted({k for r in rows[:50] if isinstance(r, dict) for k, v in r.items() if scalar(v)})
    return ([k for k in keys if k in KEY_COLS] + [k for k in keys if k not in KEY_COLS])[:n]


def tables(d):
    return [(k, v) for k, v in d.items() if isinstance(v, list) and v and isinstance(v[0], dict)]


def gen_html(d):
    out = ['<dl class=facts>' + ''.join('<dt>%s</dt><dd>%s</dd>' % (esc(k), esc(v))
                                        for k, v in d.items() if scalar(v)) + '</dl>']
    for k, o in d.items():
        if isinstance(o, dict):
            out.append('<h4>%s</h4><dl class=facts>' % esc(k) + ''.join(
                '<dt>%s</dt><dd>%s</dd>' % (esc(a), esc(b)) for a, b in o.items() if scalar(b)) + '</dl>')
    for k, rows in tables(d):
        cols = table_cols(rows, 9)
        out.append('<h4>%s (%d)</h4><div class=scroll><table><tr>' % (esc(k), len(rows))
                   + ''.join('<th>%s</th>' % esc(c) for c in cols) + '</tr>')
        for r in rows[:300]:
            r = r if isinstance(r, dict) else {}
            out.append('<tr>' + ''.join('<td>%s</td>' % esc(cell(r.get(c)))
                                        for c in cols) + '</tr>')
        out.append('</table></div>')
        if len(rows) > 300:
            out.append('<p>… %d more rows</p>' % (len(rows) - 300))
    return ''.join(out)


def gen_md(d):
    out = ['\n'.join('- %s: %s' % (k, mdesc(v)) for k, v in d.items() if scalar(v)), '\n',
           '\n'.join('- %s: ' % k + ', '.join('%s=%s' % (a, s(b)) for a, b in o.items() if scalar(b))
                     for k, o in d.items() if isinstance(o, dict))]
    for k, rows in tables(d):
        cols = table_cols(rows, 8)
        out.append('\n\n**%s** (%d)\n\n| %s |\n|%s|\n' % (k, len(rows), ' | '.join(cols), '|'.join('---' for _ in cols)))
        out.append('\n'.join('| ' + ' | '.join(
            mdesc(cell(r.get(c))) for c in cols) + ' |'
            for r in rows[:100] if isinstance(r, dict)))
        if len(rows) > 100:
            out.append('\n\n… %d more rows' % (len(rows) - 100))
    return ''.join(out)


def bench_html(b, plots):
    m, r = b.get('machine') or {}, b.get('run') or {}
    load, git = m.get('load') or {}, m.get('git') or {}
    h = ['<dl class=facts><dt>machine</dt><dd>%s (%s online), %s, kernel %s, clocksource %s</dd>' % (
        esc(m.get('machine_type')), s(m.get('vcpus_online')), esc(m.get('virtualization')),
        esc(m.get('kernel')), esc(m.get('clocksource'))),
        '<dt>load at end</dt><dd>%s / %s / %s</dd>' % (s(load.get('1m')), s(load.get('5m')), s(load.get('15m'))),
        '<dt>revision</dt><dd>%s%s</dd>' % (esc(git.get('short')), ' (dirty tree)' if git.get('dirty') else ''),
        '<dt>run</dt><dd>%s → %s (%s s), %s repetitions%s, min_time %s s%s</dd>' % (
            s(r.get('started')), s(r.get('ended')), s(r.get('seconds')), s(r.get('repetitions')),
            ', ratios paired per repetition' if r.get('pairing') == 'adjacent' else '', s(r.get('min_time_s')),
            ', <b>QUICK</b> (smoke run: figures are rough)' if r.get('quick') else '')]
    cb = r.get('committed_baseline')
    h.append('<dt>committed baseline</dt><dd>%s</dd>' % (
        'rev %s, %s' % (s(cb.get('revision')), s(cb.get('ended'))) if cb else 'none for this machine type'))
    if r.get('skipped'):
        h.append('<dt>skipped</dt><dd>' + '<br>'.join(
            '%s: %s' % (esc(x.get('program')), esc(x.get('reason'))) for x in r['skipped']) + '</dd>')
    if b.get('drifted_baselines'):
        h.append('<dt class=bad>baselines moved &gt;30%</dt><dd>' + '<br>'.join(
            '%s: %s%%' % (esc(x.get('name')), s(rnd(x['drift'] * 100))) for x in b['drifted_baselines']) + '</dd>')
    if b.get('broken_instruments'):
        h.append('<dt class=bad>broken instruments</dt><dd>' + '<br>'.join(
            '%s: interleaved with itself %s, band %s' % (esc(x.get('name')), num(x.get('ilv_ratio')),
                                                         esc(band(x.get('band'))))
            for x in b['broken_instruments']) + '<br>the interleaved rows of this run are not to be trusted</dd>')
    h.append('</dl><p>Absolute nanoseconds on a shared VM are noise; the ratios to baselines measured in the '
             'same run are the figures to read. Ratios are median(result) / median(baseline) with noise = '
             'ratio × √(cv²+cv²).</p>\n')
    h.append('<h3>Targets</h3><p>The one target table is <code>bench/targets.json</code>; a full run says '
             '<i>met</i> or <i>missed</i> by the median ratio and adds <i>unsure</i> when the noise interval '
             'straddles the bound; a QUICK run is not judged. <i>floor in the layout</i>: the ratio the floor '
             'protocol itself reaches against the same floor when its messages are laid out as the module '
             'lays them out (informational, bench/README.md), and the result\'s efficiency against it.</p>\n')
    h.append('<div class=scroll><table><tr><th>target</th><th>result</th><th>against</th><th>metric</th>'
             '<th>bound</th><th>ratio</th><th>noise</th><th>verdict</th><th>floor in the layout</th>'
             '<th>why this bound</th></tr>')
    for t in b.get('targets') or []:
        cls = {True: 'ok', False: 'bad'}.get(t.get('met'), 'nj')
        v = t.get('verdict')
        v = v if v is not None or cls != 'nj' else 'not judged'
        metric = esc(t.get('metric')) + (' / ' + esc(t.get('vs_metric')) if t.get('vs_metric') != t.get('metric') else '')
        h.append('<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s %s</td><td>%s</td><td>%s</td>'
                 '<td><span class=%s>%s</span></td><td>%s</td><td>%s</td></tr>' % (
                     esc(t.get('row')), esc(t.get('result')), esc(against(t)), metric,
                     '≤' if t.get('op') == 'le' else '≥', s(t.get('bound')), num(t.get('ratio')),
                     num(t.get('noise')), cls, esc(v), esc(shape(t)), esc(t.get('reason'))))
    h.append('</table></div>\n')
    h.append('<h3 id="efficiency">Efficiency and plots</h3><p>Efficiency = floor / measured (latency) or '
             'measured / floor (throughput), the floor a result of the same run that moves the same bytes the '
             'same way (<code>floor</code> in the table below).</p>\n')
    names = plot_names(plots)
    for p in names:
        with open(os.path.join(plots, p + '.svg'), encoding='utf-8', errors='replace') as f:
            text = f.read()
        i = text.find('<svg')
        h.append(text[text.rfind('\n', 0, i) + 1:] if i >= 0 else '')
    if not names:
        h.append('<p class=nj>no plots (gnuplot missing or no data)</p>\n')
    h.append('<h3>All results</h3>\n')
    cols = ['result', 'bytes', 'placement', 'mode', 'floor', 'efficiency', 'noise', 'parks/msg',
            'futex calls/msg', 'metric', 'median', 'cv', 'p50 ns', 'p99 ns', 'p99.9 ns', 'items/s',
            'bytes/s', 'baseline', 'ratio', 'noise', 'flags']
    h.append('<div class=scroll><table><tr>' + ''.join('<th>%s</th>' % c for c in cols) + '</tr>')
    for x in b.get('results') or []:
        c = x.get('counters') or {}
        flags = []
        if x.get('oversubscribed'):
            flags.append('<span class=nj>oversubscribed</span>')
        if x.get('drift_flag'):
            flags.append('<span class=bad>baseline moved %s%%</span>' % s(rnd(x['drift'] * 100)))
        if x.get('self_check'):
            flags.append('<span class=%s>%s</span>' % ('bad' if x['self_check'].get('broken') else 'muted',
                                                      esc(self_check(x['self_check']))))
        if x.get('error'):
            flags.append('<span class=bad>error: %s</span>' % esc(x['error']))
        if x.get('baseline_missing'):
            flags.append('<span class=nj>baseline not measured</span>')
        if x.get('baseline') is None and x.get('note') is not None:
            flags.append('<span class=muted>%s</span>' % esc(x['note']))
        vals = [esc(x.get('name')), num(x.get('bytes')), s(x.get('placement') or '-'), s(x.get('mode') or '-'),
                'itself' if x.get('floor') == x.get('name') else esc(x.get('floor') or '-'),
                num(x.get('efficiency')), num(x.get('efficiency_noise')), num(c.get('parks_per_msg')),
                num(c.get('futex_calls_per_msg')), s(x.get('metric')), num(x.get('median')), pct(x.get('cv')),
                num(x.get('p50_ns')), num(x.get('p99_ns')), num(x.get('p999_ns')),
                num(x.get('items_per_second')), num(x.get('bytes_per_second')), esc(x.get('baseline') or '-'),
                num(x.get('ratio_to_baseline')), num(x.get('ratio_noise')), ' '.join(flags)]
        h.append('<tr>' + ''.join('<td>%s</td>' % v for v in vals) + '</tr>')
    h.append('</table></div>\n')
    return ''.join(h)


def bench_md(b, plots):
    m, r = b.get('machine') or {}, b.get('run') or {}
    md = ['machine: %s, kernel %s, rev %s; run %s → %s, %s repetitions%s' % (
        s(m.get('machine_type')), s(m.get('kernel')), s((m.get('git') or {}).get('short')),
        s(r.get('started')), s(r.get('ended')), s(r.get('repetitions')), ', QUICK' if r.get('quick') else '')]
    if b.get('broken_instruments'):
        md.append('\n**broken instruments** (the interleaved rows of this run are not to be trusted): ' + '; '.join(
            '%s: interleaved with itself %s, band %s' % (s(x.get('name')), num(x.get('ilv_ratio')), band(x.get('band')))
            for x in b['broken_instruments']))
    if r.get('skipped'):
        md.append('\nskipped: ' + '; '.join('%s: %s' % (s(x.get('program')), s(x.get('reason'))) for x in r['skipped']))
    md += ['', '### Targets (bench/targets.json)', '',
           '| target | result | against | metric | bound | ratio | noise | verdict | floor in the layout | why this bound |',
           '|---|---|---|---|---|---|---|---|---|---|']
    for t in b.get('targets') or []:
        metric = s(t.get('metric')) + (' / ' + s(t.get('vs_metric')) if t.get('vs_metric') != t.get('metric') else '')
        v = '**%s**' % s(t.get('verdict')) if t.get('met') is False else s(t.get('verdict') or 'not judged')
        md.append('| %s | %s | %s | %s | %s %s | %s | %s | %s | %s | %s |' % (
            s(t.get('row')), s(t.get('result')), s(against(t)), metric, '≤' if t.get('op') == 'le' else '≥',
            s(t.get('bound')), num(t.get('ratio')), num(t.get('noise')), v, shape(t), mdesc(t.get('reason'))))
    md += ['', '### Results', '',
           '| result | bytes | placement | mode | floor | efficiency | noise | metric | median | cv | p50 ns | '
           'p99 ns | p99.9 ns | ratio to baseline | noise | flags |', '|---' * 16 + '|']
    for x in b.get('results') or []:
        flags = (['oversubscribed'] if x.get('oversubscribed') else []) + \
                (['baseline moved'] if x.get('drift_flag') else []) + \
                (['error: ' + mdesc(x['error'])] if x.get('error') else []) + \
                ([self_check(x['self_check'])] if x.get('self_check') else [])
        md.append('| ' + ' | '.join([
            s(x.get('name')), num(x.get('bytes')), s(x.get('placement') or '-'), s(x.get('mode') or '-'),
            'itself' if x.get('floor') == x.get('name') else s(x.get('floor') or '-'),
            num(x.get('efficiency')), num(x.get('efficiency_noise')), s(x.get('metric')), num(x.get('median')),
            pct(x.get('cv')), num(x.get('p50_ns')), num(x.get('p99_ns')), num(x.get('p999_ns')),
            num(x.get('ratio_to_baseline')), num(x.get('ratio_noise')), ', '.join(flags)]) + ' |')
    md.append('')
    md += ['![%s](plots/%s.svg)\n' % (p, p) for p in plot_names(plots)]
    return '\n'.join(md) + '\n'


def load(path):
    """(data, why): why is None for a usable file, else the "not run" reason."""
    try:
        if os.path.getsize(path) == 0:
            return None, 'not run'
    except OSError:
        return None, 'not run'
    try:
        with open(path, encoding='utf-8') as f:
            d = json.load(f)
    except (OSError, ValueError):
        return None, 'unreadable (%s is not JSON)' % path
    if d is None or d is False:
        return None, 'unreadable (%s is not JSON)' % path
    return d, None


def main():
    os.chdir(ROOT)
    out = os.environ.get('REPORT_OUT', 'reports/out')
    plots = os.path.join(out, 'plots')
    os.makedirs(plots, exist_ok=True)
    for p in glob.glob(os.path.join(plots, '*.svg')):
        os.remove(p)
    bench, _ = load(os.path.join(out, 'bench.json'))
    if isinstance(bench, dict) and shutil.which('gnuplot'):
        with tempfile.TemporaryDirectory() as tmp:
            bench_plots(bench, plots, tmp)

    gen = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    g = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True)
    rev = g.stdout.strip() if g.returncode == 0 and g.stdout.strip() else 'unknown'
    h = ['<!doctype html>\n<html lang=en><head><meta charset=utf-8><title>shmkit report %s</title>\n'
         '<meta name=viewport content="width=device-width, initial-scale=1">\n<style>\n%s\n</style></head><body>\n'
         '<h1>shmkit report</h1>\n<p class=muted>revision %s, generated %s. Static page: no scripts, no network.</p>\n'
         '<nav>%s</nav>\n' % (rev, CSS, rev, gen, ''.join('<a href="#%s">%s</a>' % (n, t) for n, t, _ in SECTIONS))]
    md = ['# shmkit report\n\nrevision %s, generated %s\n\n' % (rev, gen)]
    for name, title, howto in SECTIONS:
        d, why = load(os.path.join(out, name + '.json'))
        if why:
            h.append('<h2 id="%s">%s</h2><p class=nj>%s — run <code>%s</code>.</p>\n' % (name, title, why, howto))
            md.append('## %s\n\n%s — run `%s`.\n\n' % (title, why, howto))
            continue
        try:
            sm = summary(name, d)
        except (AttributeError, TypeError, KeyError):
            sm = 'unreadable JSON'
        h.append('<h2 id="%s">%s<span class=badge>%s</span></h2>\n' % (name, title, html.escape(sm, quote=False)))
        md.append('## %s\n\n%s\n\n' % (title, sm))
        if not isinstance(d, dict):
            continue
        if name == 'bench':
            h.append(bench_html(d, plots))
            md.append(bench_md(d, plots))
        else:
            h.append(gen_html(d) + '\n')
            md.append(gen_md(d) + '\n\n')
    h.append('</body></html>\n')
    for path, text in ((os.path.join(out, 'index.html'), h), (os.path.join(out, 'index.md'), md)):
        with open(path + '.tmp', 'w', encoding='utf-8') as f:
            f.write(''.join(text))
        os.replace(path + '.tmp', path)
    print('report: wrote %s and %s' % (os.path.join(out, 'index.html'), os.path.join(out, 'index.md')),
          file=sys.stderr)


if __name__ == '__main__':
    main()
