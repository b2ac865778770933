#!/usr/bin/env python3
"""Prints filters/html.c's kind_slot and kind_hash (html_kinds' index + 1 and name hash by the hash's low 8 bits, linear
probing) and the H_* name hashes, from html_kinds as html.c has it: paste them over the old ones after editing html_kinds.

usage: kinds.py [path/to/html.c]
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NAMED = ['p', 'li', 'dd', 'dt', 'address', 'div', 'td', 'th', 'tbody', 'thead', 'tfoot', 'table', 'tr', 'caption', 'colgroup']


def fnv(name):
    """name_hash: FNV-1a, 64 bits, of the lower-cased name"""
    h = 0xcbf29ce484222325
    for c in name.encode():
        h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
    return h


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, '..', '..', '..', 'filters', 'html.c')
    names = re.findall(r'^\s+K\("([a-z0-9-]+)"', open(path).read(), re.M)
    assert names == sorted(names), 'html_kinds is not sorted'
    slot, hashes = [0] * 256, [0] * 256
    for i, n in enumerate(names):
        k = fnv(n) & 255
        while slot[k]:
            k = (k + 1) & 255
        slot[k], hashes[k] = i + 1, fnv(n) & 0xffffffff
    print('static const uint8_t kind_slot[256] = {')
    for r in range(0, 256, 24):
        print('    ' + ', '.join('%d' % x for x in slot[r:r + 24]) + ',')
    print('};\nstatic const uint32_t kind_hash[256] = {')
    for r in range(0, 256, 8):
        print('    ' + ', '.join('0x%08x' % x for x in hashes[r:r + 8]) + ',')
    print('};\n_Static_assert(sizeof(html_kinds) / sizeof(html_kinds[0]) == %d, ...);' % len(names))
    for n in NAMED:
        print('#define H_%s 0x%08xu' % (n.upper(), fnv(n) & 0xffffffff))


if __name__ == '__main__':
    main()
