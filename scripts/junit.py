#!/usr/bin/env python3
"""junit.py - reports/out/check.json as JUnit XML, validated.

  scripts/junit.py [--check FILE] [--out FILE] [--schema XSD]

One <testsuite> per program of the run, one <testcase> per test the harness
reported (PASS/FAIL/SKIP lines; a program without per-test lines - a
script, a stress or fuzz program - is one testcase named after itself).  A
failure carries the test's failure lines and the first lines of the
program's log; the clauses a test's evidence names go to its <system-out>,
the program's to <properties> (name "clause").  The file is checked with
`xmllint --schema` against reports/schema/junit.xsd; exit 1 when it does
not validate or cannot be written.
"""
import argparse
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

LOG_LINES = 20


def first_lines(path, n):
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            return [line.rstrip('\n') for _, line in zip(range(n), f)]
    except OSError:
        return []


def suite_of(prog, base):
    tests = prog.get('tests') or []
    ts = ET.Element('testsuite', name=prog['name'])
    clauses = prog.get('clauses') or []
    if clauses:
        props = ET.SubElement(ts, 'properties')
        for c in clauses:
            ET.SubElement(props, 'property', name='clause', value=c)
    log = first_lines(os.path.join(base, prog.get('log', '')), LOG_LINES)
    cases = tests or [{'name': prog['name'],
                       'result': {'pass': 'pass', 'skip': 'skip'}.get(prog['result'], 'fail'),
                       'failures': [], 'clauses': clauses}]
    nfail = nskip = 0
    for t in cases:
        tc = ET.SubElement(ts, 'testcase', name=t['name'], classname=prog['name'])
        if not tests:
            tc.set('time', '%.3f' % (prog.get('wall_ms', 0) / 1000.0))
        if t['result'] == 'fail':
            nfail += 1
            lines = list(t.get('failures') or [])
            msg = lines[0] if lines else 'program %s: %s (exit %s)' % (
                prog['name'], prog['result'], prog.get('exit'))
            f = ET.SubElement(tc, 'failure', message=msg[:500], type=prog['result'])
            f.text = '\n'.join(lines + ['--- first lines of %s:' % prog.get('log', '')] + log)
        elif t['result'] == 'skip':
            nskip += 1
            ET.SubElement(tc, 'skipped', message=(t.get('reason') or 'skipped')[:500])
        if t.get('clauses'):
            ET.SubElement(tc, 'system-out').text = 'clauses: ' + ' '.join(t['clauses'])
    # a program that failed outside its tests (crash, timeout, leak) fails the suite too
    if prog['result'] not in ('pass', 'skip') and tests and nfail == 0:
        tc = ET.SubElement(ts, 'testcase', name='(program)', classname=prog['name'])
        f = ET.SubElement(tc, 'failure', message='program %s: %s (exit %s)' % (
            prog['name'], prog['result'], prog.get('exit')), type=prog['result'])
        f.text = '\n'.join(log)
        nfail += 1
        cases = cases + [None]
    ts.set('tests', str(len(cases)))
    ts.set('failures', str(nfail))
    ts.set('errors', '0')
    ts.set('skipped', str(nskip))
    ts.set('time', '%.3f' % (prog.get('wall_ms', 0) / 1000.0))
    return ts, len(cases), nfail, nskip


def main():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--check', default=os.path.join(here, 'reports/out/check.json'))
    ap.add_argument('--out')
    ap.add_argument('--schema', default=os.path.join(here, 'reports/schema/junit.xsd'))
    a = ap.parse_args()
    out = a.out or os.path.join(os.path.dirname(os.path.abspath(a.check)), 'junit.xml')
    with open(a.check) as f:
        check = json.load(f)
    base = os.path.dirname(os.path.abspath(a.check))
    root = ET.Element('testsuites', name='shmkit make check (%s)' % check.get('variant', '?'))
    tot = [0, 0, 0]
    for prog in check.get('programs', []):
        ts, n, nf, ns = suite_of(prog, base)
        root.append(ts)
        tot = [tot[0] + n, tot[1] + nf, tot[2] + ns]
    root.set('tests', str(tot[0]))
    root.set('failures', str(tot[1]))
    root.set('errors', '0')
    root.set('skipped', str(tot[2]))
    root.set('time', '%.3f' % (check.get('wall_ms', 0) / 1000.0))
    ET.indent(root)
    tmp = out + '.tmp'
    ET.ElementTree(root).write(tmp, encoding='UTF-8', xml_declaration=True)
    os.replace(tmp, out)
    r = subprocess.run(['xmllint', '--noout', '--schema', a.schema, out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        print('junit: %s does not validate against %s' % (out, a.schema), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except (OSError, ValueError, KeyError) as e:
        print('junit: %s' % e, file=sys.stderr)
        sys.exit(1)
