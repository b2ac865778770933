#!/usr/bin/env python3
"""Differential check of what Chromium FETCHES from pages with inline SVG/MathML against what the rewriter sees.

usage: fetch.py SEED COUNT WORKDIR [HTML_C...]

Writes COUNT random pages (from SEED): HTML elements opened (and some closed), an <svg> or <math>, then foreign and HTML
start and end tags, the end tags of the HTML elements opened before it ("<div><svg></div>"), and probes: an <img> after
"<!--" in a <style> or <title>, in a CDATA section after its '>', in a quoted attribute value, a <script>'s string or a
<textarea> after "</style>" or "</title>" (each fetched by Chromium's preload scanner where the tree builder builds
nothing), an <img> in a <style> (built where the <style> is foreign). For each HTML_C (a filters/html.c, default this tree's), ids.c and neutral.c are built against it
and dom.js loads in Chromium (its requests, the preload scanner's too, are what counts):
  - the pages as they are: the <img> requests Chromium made that the rewriter's on_tag did not see ("fetched, not seen");
  - the pages as the rewriter writes them with every <img> it saw blocked (neutral.c): the <img> requests Chromium still
    made ("leaked": a tracker written so loads before consent), and the documents Chromium built otherwise than from
    the page as it is (but for comments' text and the blocked <img>'s attribute name).
"""
import json
import os
import random
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
HTML_OPEN = ['<div>', '<span>', '<section>', '<b>', '<p>', '<a>', '<ul><li>', '<li>', '<table><tr><td>', '<td>',
             '<custom-el>', '<h1>', '<button>', '<em>', '<dl><dd>']
HTML_END = ['</div>', '</span>', '</section>', '</b>', '</p>', '</a>', '</ul>', '</li>', '</td>', '</table>',
            '</custom-el>', '</h1>', '</h2>', '</button>', '</em>', '</dd>', '</dl>', '</tr>', '</g>', '</svg>', '</math>']
FOREIGN = ['<g>', '</g>', '<a>', '<desc>', '</desc>', '<foreignObject>', '</foreignObject>', '<mi>', '</mi>', 'x', ' ',
           '<style/>', '<title/>', '<text>', '</text>', '<svg>', '<math>', '<!--c-->', '<![CDATA[a>b]]>']
PROBES = ['<style><!--</style><img id={0} src=/{0}>--></style>', '<style><img id={0} src=/{0}></style>',
          '<![CDATA[><img id={0} src=/{0}>]]>', '<title><!--</title><img id={0} src=/{0}>--></title>',
          '<style><x a="</style><img id={0} src=/{0}>"></x></style>', '<img id={0} src=/{0}>',
          '<script>s = "</style><img id={0} src=/{0}>"</script>', '<textarea></title><img id={0} src=/{0}></textarea>']


def pages(seed, count):
    rnd = random.Random(seed)
    out = []
    for d in range(count):
        parts, k = [], 0
        for _ in range(rnd.randint(1, 5)):
            parts.append(rnd.choice(HTML_OPEN + HTML_END[:4]))
        parts.append(rnd.choice(['<svg>', '<math>', '<svg viewBox="0 0 1 1">']))
        for _ in range(rnd.randint(3, 16)):
            r = rnd.random()
            if r < 0.15:
                k += 1
                parts.append(rnd.choice(PROBES).format('d%dp%d' % (d, k)))
            elif r < 0.45:
                parts.append(rnd.choice(HTML_END))
            else:
                parts.append(rnd.choice(FOREIGN))
        k += 1
        parts.append(rnd.choice(PROBES).format('d%dp%d' % (d, k)))
        out.append(''.join(parts))
    return out


def same_dom(html):
    """the document as Chromium built it, comments and the blocked <img>'s attribute name aside"""
    return re.sub(r'<!--.*?-->', '', html, flags=re.S).replace('data-blocked-src=', 'src=')


def chromium(docs, work, name):
    path = os.path.join(work, name + '.json')
    with open(path, 'w') as f:
        json.dump(docs, f)
    subprocess.run(['node', os.path.join(HERE, 'dom.js'), path, path + '.out'], check=True)
    with open(path + '.out') as f:
        return json.load(f)


def build(src, work, tool, n):
    exe = os.path.join(work, '%s%d' % (tool, n))
    subprocess.run(['cc', '-std=gnu11', '-O1', '-I' + os.path.join(REPO, 'filters'), '-o', exe, os.path.join(HERE, tool + '.c'),
                    src], check=True)
    return exe


def main():
    seed, count, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    sources = sys.argv[4:] or [os.path.join(REPO, 'filters', 'html.c')]
    os.makedirs(work, exist_ok=True)
    docs = pages(seed, count)
    truth = chromium(docs, work, 'pages')
    fetched = sum(len([a for a in c['asked'] if a.startswith('d')]) for c in truth)
    for n, src in enumerate(sources):
        seen = subprocess.run([build(src, work, 'ids', n)] + docs, capture_output=True, text=True, check=True).stdout.split('\n')
        out = subprocess.run([build(src, work, 'neutral', n)] + docs, capture_output=True, check=True).stdout.split(b'\0')[:-1]
        written = [p.decode('utf-8') for p in out]
        after = chromium(written, work, 'written%d' % n)
        not_seen = leaked = changed = 0
        for d, c, s, w, a in zip(docs, truth, seen, written, after):
            miss = set(x for x in c['asked'] if x.startswith('d')) - set(x for x in s.split(';') if x)
            leak = set(x for x in a['asked'] if x.startswith('d'))
            not_seen += len(miss)
            leaked += len(leak)
            for m in sorted(leak):
                print('  leaked: %s in %s\n     written: %s' % (m, d, w))
            if same_dom(c['dom']) != same_dom(a['dom']):
                changed += 1
                print('  document changed: %s\n     written: %s' % (d, w))
        print('%s: %d pages, %d <img> fetched by Chromium; %d fetched, not seen by on_tag; %d still fetched from the '
              'rewritten pages (leaked); %d documents built otherwise (but for comments)'
              % (src, len(docs), fetched, not_seen, leaked, changed))


if __name__ == '__main__':
    main()
