#!/usr/bin/env python3
"""Differential check of the rewriter's foreign content (svg, math, their integration points) against Chromium.

usage: foreign.py SEED COUNT WORKDIR [IDS_BINARY...]

Writes COUNT random pages (from SEED) that open an integration point (<svg><foreignObject>, <math><mi>, …) and go on
with HTML and foreign start and end tags, each with probes: an <img> after "<!--" in a <style> (built only where the
<style> is HTML's raw text), an <img> in a <style> (built only where it is foreign content and the <img> breaks out),
an <img> after "<![CDATA[>" (built only where that is a bogus comment). dom.js loads them in Chromium; each IDS_BINARY
(ids.c built against a filters/html.c; default WORKDIR/ids) reads them; printed, per binary: the <img>s Chromium's tree
builder built that the rewriter did not see (a tracker written so loads before consent), and those only Chromium's
preload scanner requested (not built), which the rewriter, reading as the tree builder does, misses too.
"""
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENS = ['<div>', '</div>', '<span>', '</span>', '<p>', '</p>', '<b>', '</b>', '<i>', '</i>', '<a>', '</a>', '<li>', '</li>',
          '<ul>', '</ul>', '<dd>', '<dt>', '</dl>', '<h1>', '</h1>', '<h2>', '</h2>', '<table>', '</table>', '<tr>', '<td>',
          '</td>', '<select>', '</select>', '<option>', '<button>', '</button>', '<object>', '</object>', '<template>',
          '</template>', '<nobr>', '</nobr>', '<em>', '</em>', 'x', ' ', '<br>', '</br>', '<hr>', '</svg>',
          '</foreignObject>', '</math>', '</mi>', '</desc>', '</title>', '<svg>', '<foreignObject>', '<math>', '<mi>',
          '<mglyph>', '</mglyph>', '<g>', '</g>', '<title>t</title>', '<textarea>q</textarea>', '<font color=1>',
          '<annotation-xml encoding=text/html>', '</annotation-xml>']
OPEN = ['<svg><foreignObject>', '<svg><desc>', '<svg><title>', '<math><mi>', '<math><mtext>']
PROBES = ['<style><!--</style><img id={0} src=/{0}>--></style>', '<style><img id={0} src=/{0}></style>',
          '<![CDATA[><img id={0} src=/{0}>]]>']


def pages(seed, count):
    rnd = random.Random(seed)
    out = []
    for d in range(count):
        parts, k = [rnd.choice(OPEN)], 0
        for _ in range(rnd.randint(4, 22)):
            if rnd.random() < 0.12:
                k += 1
                parts.append(rnd.choice(PROBES).format('d%dp%d' % (d, k)))
            else:
                parts.append(rnd.choice(TOKENS))
        k += 1
        parts.append(rnd.choice(PROBES[:2]).format('d%dp%d' % (d, k)))
        out.append(''.join(parts))
    return out


def main():
    seed, count, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    os.makedirs(work, exist_ok=True)
    binaries = sys.argv[4:]
    if not binaries:
        binaries = [os.path.join(work, 'ids')]
        repo = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
        subprocess.run(['cc', '-std=gnu11', '-O1', '-I' + os.path.join(repo, 'filters'), '-o', binaries[0],
                        os.path.join(HERE, 'ids.c'), os.path.join(repo, 'filters', 'html.c')], check=True)
    docs = pages(seed, count)
    with open(os.path.join(work, 'pages.json'), 'w') as f:
        json.dump(docs, f)
    subprocess.run(['node', os.path.join(HERE, 'dom.js'), os.path.join(work, 'pages.json'), os.path.join(work, 'chromium.json')],
                   check=True)
    with open(os.path.join(work, 'chromium.json')) as f:
        chromium = json.load(f)
    for b in binaries:
        seen = subprocess.run([b] + docs, capture_output=True, text=True, check=True).stdout.split('\n')
        built_missed = scanner_missed = 0
        for d, c, s in zip(docs, chromium, seen):
            s = set(x for x in s.split(';') if x)
            missed = set(c['built']) - s
            built_missed += len(missed)
            scanner_missed += len(set(c['asked']) - set(c['built']) - s)
            for m in sorted(missed):
                print('  built, not seen: %s in %s' % (m, d))
        print('%s: %d pages, %d <img> built; not seen: %d built by the tree builder, %d requested by the preload scanner only'
              % (b, len(docs), sum(len(c['built']) for c in chromium), built_missed, scanner_missed))


if __name__ == '__main__':
    main()
