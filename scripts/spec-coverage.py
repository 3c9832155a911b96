#!/usr/bin/env python3
"""spec-coverage.py - the clause -> code -> test matrix, and the gate on it.

  scripts/spec-coverage.py [--root DIR] [--evidence FILE] [--out DIR] [--strict] [--quiet]

Clauses are defined ONLY by conformance/spec/*.md (a marker line alone at
column 0, outside fenced blocks, then one paragraph with one RFC 2119 level:
MUST, SHOULD or MAY; "MUST NOT"/"SHOULD NOT" count as MUST/SHOULD; words in
`code spans` and the "Why:" line do not count).
Citations are read ONLY from the source trees below, so ids quoted in
DESIGN.md, README.md or fixture trees never count:
  impl citations     impl/ (*.c, *.h), scripts/, conformance/harness/, fuzz/, bench/
  verify citations   bench/ scripts/ conformance/{stress,models,checks}/,
                     the registrations of conformance/tests/ (H_REGISTER(fn,
                     deadline, "id", ...), H_REGISTER_IN, H_TEST and
                     H_CLAUSES("id", ...) entries)
                     each fuzz target's shmk_fuzz_clauses[] array, and the
                     clause ids a stress program (conformance/stress/, with
                     the skeletons of conformance/support/) quotes as
                     strings - in its h_evidence() calls and clause arrays,
                     its one list
  exempt citations   any of the trees above
A citation of the wrong kind for its tree counts for nothing (warning).
Evidence (JSONL {"program","suite","test","clause","result"}) says which
tests passed or failed for a clause at run time.  For every CUnit program
(conformance/tests/<program>.c or conformance/tests/<program>/*.c) and
fuzz target (fuzz/<program>.c) that wrote evidence, the evidence and the
registrations must agree: no evidence
for a clause a test does not register, no registered clause of a test that
ran without its evidence.

Writes <out>/spec-coverage.json (schema shmkit.spec-coverage/1, see
reports/schema/spec-coverage.md), prints a table and a summary, and exits 1
naming the clause id when the gate fails (list in reports/schema/).

r[impl spec.gate.must] r[impl spec.gate.should-strict] r[impl spec.gate.scope]
"""
import argparse
import datetime
import json
import os
import re
import subprocess
import sys

SRC_EXT = ('.c', '.h', '.cc', '.cpp', '.sh', '.mk', '.pml', '.py', '.awk')
IDC = r'[A-Za-z0-9_][A-Za-z0-9_.+-]*'
CITE_RE = re.compile(r'r\[(impl|verify|exempt) (' + IDC + r')\]')
EXEMPT_RE = re.compile(r'r\[exempt (' + IDC + r')\]([^*]*)')
REG_RE = re.compile(r'\bH_(?:TEST|REGISTER|REGISTER_IN\(\s*"\w+"\s*,)\(?\s*(\w+)\s*,\s*\w+\s*((?:,\s*"[^"]*"\s*)*)\)'
                    r'|\{\s*"(\w+)"\s*,\s*\w+\s*,\s*\w+\s*,\s*H_CLAUSES\(((?:\s*"[^"]*"\s*,?)*)\)\s*\}')
FUZZ_RE = re.compile(r'shmk_fuzz_clauses\[\]\s*=\s*\{([^}]*)\}')
# a stress program's list: the clause argument of h_evidence(prog, suite,
# test, "id", ok) and the initialisers of its clauses arrays
STRESS_RE = re.compile(r'h_evidence\([^;]*?,[^;]*?,[^;]*?,\s*("[^"]*")'
                       r'|\bclauses(?:\[[^\]]*\])?\s*=\s*\{([^}]*)\}')
ID_RE = re.compile(r'^[a-z0-9_-]+(\.[a-z0-9_-]+){2,}(\+[0-9]+)?$')
FAILED = ('fail', 'failed', 'crash', 'timeout')
PASSED = ('pass', 'passed', 'ok')


def parse_clauses(root):
    """[{id, file, line, levels, why}] in file order."""
    out = []
    d = os.path.join(root, 'conformance/spec')
    files = sorted(f for f in os.listdir(d) if f.endswith('.md')) if os.path.isdir(d) else []
    for name in files:
        rel = 'conformance/spec/' + name
        cur = None
        fence = False

        def flush():
            nonlocal cur
            if cur:
                has = cur.pop('has')
                cur['levels'] = [lv for lv in ('MUST', 'SHOULD', 'MAY') if lv in has]
                cur.pop('text')
                out.append(cur)
            cur = None

        with open(os.path.join(d, name), encoding='utf-8', errors='replace') as f:
            for n, line in enumerate(f, 1):
                line = line.rstrip('\n')
                if line.startswith('```') or line.startswith('~~~'):
                    flush()
                    fence = not fence
                    continue
                if fence:
                    continue
                m = re.match(r'^r\[([^\] \t]*)\][ \t]*$', line)
                if m:
                    flush()
                    cur = {'id': m.group(1), 'file': rel, 'line': n, 'why': False,
                           'has': set(), 'text': False}
                    continue
                if cur is None:
                    continue
                if re.match(r'^[ \t]*$', line):
                    if cur['text']:
                        flush()
                    continue
                if line.startswith('Why:'):
                    cur['why'] = True
                    cur['text'] = True
                    continue
                cur['text'] = True
                s = re.sub(r'`[^`]*`', ' ', line)
                for w in re.split(r'[^A-Za-z0-9_]+', s):
                    if w in ('MUST', 'SHOULD', 'MAY'):
                        cur['has'].add(w)
        flush()
    return out


def walk(root, top, exts):
    """Relative paths of the text files below root/top (exts None: all)."""
    base = os.path.join(root, top)
    if not os.path.exists(base):
        return []
    found = []
    for dp, dns, fns in os.walk(base):
        dns.sort()
        for fn in sorted(fns):
            if exts is None or fn.endswith(exts):
                found.append(os.path.relpath(os.path.join(dp, fn), root))
    return found


def read_lines(root, rel):
    try:
        with open(os.path.join(root, rel), 'rb') as f:
            data = f.read()
    except OSError:
        return []
    if b'\0' in data:
        return []	# binary, as grep -I
    return data.decode('utf-8', errors='replace').split('\n')


def where(f):
    if re.match(r'^(scripts|fuzz|bench)/', f):
        return 'impl+verify'
    if re.match(r'^(impl|conformance/harness)/', f):
        return 'impl'
    if re.match(r'^conformance/(stress|models|checks)/', f):
        return 'verify'
    return 'other'


def test_program(rel):
    """conformance/tests/<p>.c and conformance/tests/<p>/<x>.c are program p."""
    parts = rel.split('/')
    return parts[2] if len(parts) > 3 else os.path.splitext(parts[2])[0]


def parse_citations(root):
    cites, regs = [], []
    trees = [(f, False) for f in walk(root, 'impl', ('.c', '.h'))]
    trees += [(f, False) for f in walk(root, 'scripts', None)]
    for top in ('conformance/stress', 'conformance/models', 'conformance/checks',
                'conformance/harness', 'fuzz', 'bench'):
        trees += [(f, False) for f in walk(root, top, SRC_EXT)]
    trees += [(f, True) for f in walk(root, 'conformance/tests', SRC_EXT)]
    for rel, is_test in trees:
        lines = read_lines(root, rel)
        ext_ok = rel.endswith(SRC_EXT)
        for n, line in enumerate(lines, 1):
            for m in CITE_RE.finditer(line):
                if m.group(1) != 'exempt':
                    cites.append({'kind': m.group(1), 'id': m.group(2), 'at': '%s:%d' % (rel, n),
                                  'where': where(rel), 'reason': ''})
            if ext_ok:
                for m in EXEMPT_RE.finditer(line):
                    reason = m.group(2).replace('\t', ' ')
                    reason = re.sub(r'^[ \t#:-]+|[ \t/]+$', '', reason)
                    cites.append({'kind': 'exempt', 'id': m.group(1), 'at': '%s:%d' % (rel, n),
                                  'where': 'any', 'reason': reason})
        if is_test:
            text = '\n'.join(lines)
            for m in REG_RE.finditer(text):
                n = text.count('\n', 0, m.start()) + 1
                test = m.group(1) or m.group(3)
                ids = re.findall(r'"([^"]*)"', m.group(2) if m.group(1) else m.group(4))
                for cid in ids:
                    at = '%s:%d' % (rel, n)
                    cites.append({'kind': 'verify', 'id': cid, 'at': at, 'where': 'test',
                                  'reason': ''})
                    regs.append({'program': test_program(rel), 'test': test, 'clause': cid,
                                 'at': at})
    for rel in walk(root, 'fuzz', ('.c',)):
        text = '\n'.join(read_lines(root, rel))
        for m in FUZZ_RE.finditer(text):
            for s in re.finditer(r'"([^"]*)"', m.group(1)):
                n = text.count('\n', 0, m.start(1) + s.start()) + 1
                at = '%s:%d' % (rel, n)
                cites.append({'kind': 'verify', 'id': s.group(1), 'at': at, 'where': 'impl+verify',
                              'reason': ''})
                regs.append({'program': os.path.splitext(os.path.basename(rel))[0],
                             'test': 'replay', 'clause': s.group(1), 'at': at})
    modules = set(os.path.splitext(f)[0] for f in os.listdir(os.path.join(root, 'conformance/spec'))
                  if f.endswith('.md')) if os.path.isdir(os.path.join(root, 'conformance/spec')) else set()
    for rel in walk(root, 'conformance/stress', ('.c',)) + walk(root, 'conformance/support', ('.c',)):
        text = '\n'.join(read_lines(root, rel))
        for m in STRESS_RE.finditer(text):
            g = 1 if m.group(1) is not None else 2
            for s in re.finditer(r'"([^"]*)"', m.group(g)):
                if s.group(1).split('.')[0] in modules:
                    n = text.count('\n', 0, m.start(g) + s.start()) + 1
                    cites.append({'kind': 'verify', 'id': s.group(1), 'at': '%s:%d' % (rel, n),
                                  'where': 'verify', 'reason': ''})
    # one exempt row per (file:line, text), as `sort -u` did
    seen, uniq = set(), []
    for c in cites:
        k = (c['kind'], c['id'], c['at'], c['reason']) if c['kind'] == 'exempt' else None
        if k and k in seen:
            continue
        if k:
            seen.add(k)
        uniq.append(c)
    return uniq, regs


def read_evidence(path, quiet):
    evs, lines, bad = [], 0, 0
    if not os.path.isfile(path):
        if not quiet:
            print('spec-coverage: warning: no evidence file %s (run make check first)' % path,
                  file=sys.stderr)
        return evs
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            if not line.strip():
                continue
            lines += 1
            try:
                o = json.loads(line)
            except ValueError:
                bad += 1
                continue
            if isinstance(o, dict):
                evs.append(o)
            else:
                bad += 1
    if bad:
        print('spec-coverage: warning: %d unreadable line(s) in %s' % (bad, path), file=sys.stderr)
    return evs


def git_state(root):
    try:
        rev = subprocess.run(['git', '-C', root, 'rev-parse', 'HEAD'], capture_output=True,
                             text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown', False
    st = subprocess.run(['git', '-C', root, 'status', '--porcelain', '--untracked-files=no'],
                        capture_output=True, text=True).stdout
    return rev, bool(st.strip())


def gate(defs, cites, regs, evs, strict):
    def at(d):
        return '%s:%d' % (d['file'], d['line'])

    first = {}
    for d in defs:
        first.setdefault(d['id'], d)
    for e in evs:
        e['_key'] = '%s/%s/%s' % (e.get('program', '?'), e.get('suite', '?'), e.get('test', '?'))
        e['_res'] = str(e.get('result', '')).lower()
    evs = [e for e in evs if isinstance(e.get('clause'), str)]

    # r[impl spec.gate.id]
    e_grammar = [{'id': d['id'], 'msg': 'clause id "%s" at %s does not match seg(.seg){2,}(+N), '
                  'seg=[a-z0-9_-]+' % (d['id'], at(d))} for d in defs if not ID_RE.match(d['id'])]
    # r[impl spec.gate.duplicate]
    e_dup = []
    for cid in sorted(set(d['id'] for d in defs)):
        same = [d for d in defs if d['id'] == cid]
        if len(same) > 1:
            e_dup.append({'id': cid, 'msg': 'duplicate clause id %s: defined at %s'
                          % (cid, ', '.join(at(d) for d in same))})
    # r[impl spec.gate.keyword]
    e_kw = []
    for d in defs:
        if len(d['levels']) == 0:
            e_kw.append({'id': d['id'], 'msg': 'clause %s at %s has no RFC 2119 keyword (MUST, '
                         'SHOULD or MAY)' % (d['id'], at(d))})
        elif len(d['levels']) > 1:
            e_kw.append({'id': d['id'], 'msg': 'clause %s at %s has more than one keyword level '
                         '(%s)' % (d['id'], at(d), ', '.join(d['levels']))})
    # r[impl spec.gate.dangling]
    e_dang = [{'id': c['id'], 'msg': 'dangling %s citation of %s at %s: no clause has this id'
               % ('H_TEST registration' if c['where'] == 'test' else c['kind'], c['id'], c['at'])}
              for c in cites if c['id'] not in first]
    e_noreason = [{'id': c['id'], 'msg': 'exempt citation of %s at %s gives no reason'
                   % (c['id'], c['at'])}
                  for c in cites if c['kind'] == 'exempt' and c['id'] in first and not c['reason']]

    clauses = []
    for d in first.values():
        mine = [c for c in cites if c['id'] == d['id']]
        impl = [c['at'] for c in mine if c['kind'] == 'impl' and c['where'] in ('impl', 'impl+verify')]
        verify = [c['at'] for c in mine if c['kind'] == 'verify' and c['where'] not in ('impl', 'other')]
        ex = [c for c in mine if c['kind'] == 'exempt']
        e = [x for x in evs if x['clause'] == d['id']]
        failed = sorted(set(x['_key'] for x in e if x['_res'] in FAILED))
        passed = sorted(set(x['_key'] for x in e if x['_res'] in PASSED))
        level = d['levels'][0] if len(d['levels']) == 1 else None
        if failed:
            status = 'failed-test'
        elif ex and level != 'MUST':
            status = 'exempt'
        elif not impl:
            status = 'missing-impl'
        elif not passed:
            status = 'missing-test'
        else:
            status = 'ok'
        clauses.append({'id': d['id'], 'level': level, 'file': d['file'], 'line': d['line'],
                        'why': d['why'], 'impl': impl, 'verify': verify, 'tests_passed': passed,
                        'tests_failed': failed, 'exempt': bool(ex),
                        'exempt_reason': '; '.join(c['reason'] for c in ex) if ex else None,
                        'exempt_at': [c['at'] for c in ex], 'status': status})
    clauses.sort(key=lambda c: (c['file'], c['line']))

    # r[impl spec.gate.exempt]
    e_exm = [{'id': c['id'], 'msg': 'exempt citation of %s at %s: a MUST clause cannot be exempted'
              % (c['id'], ', '.join(c['exempt_at']))}
             for c in clauses if c['exempt'] and c['level'] == 'MUST']
    # r[impl spec.gate.failed]
    e_fail = [{'id': c['id'], 'msg': 'clause %s: test(s) failed: %s'
               % (c['id'], ', '.join(c['tests_failed']))} for c in clauses if c['tests_failed']]
    e_missing = []
    for c in clauses:
        if not (c['level'] == 'MUST' or (strict and c['level'] == 'SHOULD')):
            continue
        if c['status'] in ('missing-impl', 'missing-test') or \
                (c['status'] == 'exempt' and c['level'] == 'MUST'):
            what = [w for w, bad in (('no impl citation', not c['impl']),
                                     ('no passing test', not c['tests_passed'])) if bad]
            e_missing.append({'id': c['id'], 'msg': '%s clause %s (%s:%d) has %s'
                              % (c['level'], c['id'], c['file'], c['line'], ' and '.join(what))})

    # r[impl spec.gate.registered]
    e_reg = []
    progs = set(r['program'] for r in regs)
    ran = set(e.get('program') for e in evs) & progs
    reg_keys = set((r['program'], r['test'], r['clause']) for r in regs)
    ev_keys = set((e.get('program'), e.get('test'), e['clause']) for e in evs if e.get('program') in ran)
    tests_ran = set((p, t) for p, t, _ in ev_keys)
    for p, t, cid in sorted(ev_keys - reg_keys):
        e_reg.append({'id': cid, 'msg': '%s/%s: evidence for %s, which the test does not register'
                      % (p, t, cid)})
    for r in regs:
        k = (r['program'], r['test'], r['clause'])
        if r['program'] in ran and (r['program'], r['test']) in tests_ran and k not in ev_keys:
            e_reg.append({'id': r['clause'], 'msg': '%s/%s: registered %s (%s) but wrote no evidence '
                          'of it' % (r['program'], r['test'], r['clause'], r['at'])})

    ev_unknown = sorted(set(e['clause'] for e in evs if e['clause'] not in first))
    misplaced = ['%s citation of %s at %s is in a tree where it does not count'
                 % (c['kind'], c['id'], c['at']) for c in cites
                 if (c['kind'] == 'impl' and c['where'] in ('verify', 'test', 'other')) or
                 (c['kind'] == 'verify' and c['where'] in ('impl', 'other'))]
    errors = e_grammar + e_dup + e_kw + e_dang + e_noreason + e_exm + e_fail + e_missing + e_reg
    warnings = ['evidence names clause %s, which no spec file defines' % c for c in ev_unknown]
    return clauses, errors, warnings + misplaced, len(evs)


def main():
    ap = argparse.ArgumentParser(description='spec-coverage matrix and gate')
    ap.add_argument('--root')
    ap.add_argument('--evidence')
    ap.add_argument('--out')
    ap.add_argument('--strict', action='store_true')
    ap.add_argument('--quiet', action='store_true')
    a = ap.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    root = os.path.abspath(a.root or here)
    strict = a.strict or os.environ.get('STRICT', '0') not in ('', '0', 'no', 'false')
    evidence = os.path.abspath(a.evidence or os.path.join(root, 'reports/out/evidence.jsonl'))
    out = os.path.abspath(a.out or os.path.join(root, 'reports/out'))
    os.makedirs(out, exist_ok=True)

    defs = parse_clauses(root)
    cites, regs = parse_citations(root)
    evs = read_evidence(evidence, a.quiet)
    rev, dirty = git_state(root)
    clauses, errors, warnings, nev = gate(defs, cites, regs, evs, strict)

    def count(st):
        return sum(1 for c in clauses if c['status'] == st)

    def level(lv):
        return sum(1 for c in clauses if c['level'] == lv)

    doc = {
        'schema': 'shmkit.spec-coverage/1',
        'generated_at': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'git': {'revision': rev, 'dirty': dirty},
        'root': root,
        'evidence': evidence,
        'strict': strict,
        'totals': {
            'clauses': len(clauses), 'must': level('MUST'), 'should': level('SHOULD'),
            'may': level('MAY'), 'ok': count('ok'), 'exempt': count('exempt'),
            'missing_impl': count('missing-impl'), 'missing_test': count('missing-test'),
            'failed_test': count('failed-test'),
            'impl_citations': sum(len(c['impl']) for c in clauses),
            'verify_citations': sum(len(c['verify']) for c in clauses),
            'evidence_lines': nev, 'errors': len(errors),
        },
        'passed': not errors,
        'errors': errors,
        'warnings': warnings,
        'clauses': [{k: v for k, v in c.items() if k != 'exempt_at'} for c in clauses],
    }
    tmp = os.path.join(out, '.spec-coverage.json.tmp')
    with open(tmp, 'w') as f:
        json.dump(doc, f, indent=2)
        f.write('\n')
    os.replace(tmp, os.path.join(out, 'spec-coverage.json'))

    if not a.quiet:
        w = max([5] + [len(c['id']) for c in clauses])
        row = '%-*s  %-6s  %5s  %7s  %6s  %s'
        print(row % (w, 'CLAUSE', 'LEVEL', '#IMPL', '#VERIFY', 'PASSED', 'STATUS'))
        for c in clauses:
            print(row % (w, c['id'], c['level'] or '-', len(c['impl']), len(c['verify']),
                         len(c['tests_passed']), c['status']))
    t = doc['totals']
    print('spec-coverage: %d clauses (%d MUST, %d SHOULD, %d MAY): %d ok, %d exempt, %d missing-impl, '
          '%d missing-test, %d failed-test; %d error(s)%s'
          % (t['clauses'], t['must'], t['should'], t['may'], t['ok'], t['exempt'],
             t['missing_impl'], t['missing_test'], t['failed_test'], t['errors'],
             ' [strict]' if strict else ''))
    sys.stdout.flush()
    for w_ in warnings:
        print('spec-coverage: warning: %s' % w_, file=sys.stderr)
    if not errors:
        return 0
    for e in errors:
        print('spec-coverage: error: %s' % e['msg'], file=sys.stderr)
    return 1


if __name__ == '__main__':
    sys.exit(main())
