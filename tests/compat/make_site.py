#!/usr/bin/env python3
"""Writes the synthetic part of the compatibility corpus into OUT/features: the pages of site/ (a kitchen sink of what
real pages hold: forms, frames, srcdoc, picture/srcset, SVG, MathML, <template>, a custom element, an import map and
module scripts, a service worker, a worker, web fonts, fetch/XHR; <base href>, quirks mode, XHTML, an htmx-style
fragment, what an enforcing CSP blocks), pages in legacy encodings and UTF-16 (<meta>, header, BOM), pages of outbound
links with characters beyond ASCII in those encodings, and a 10 MB table. usage: make_site.py OUT"""
import codecs
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(sys.argv[1], "features")
FONT = "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"  # fonts-liberation


def write(name, data, ctype=None):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    if ctype:  # the origin's Content-Type for it (origin.py)
        with open(os.path.join(OUT, name + ".ctype"), "w") as f:
            f.write(ctype)


def page(title, text, meta):
    return ("<!DOCTYPE html><html><head>%s<title>%s</title></head><body><h1>%s</h1><p id=t>%s</p>"
            "<p><a href=\"https://www.example.org/\">ext</a> <a href=\"other.html\">rel</a></p>"
            "<form action=\"post\" method=post><input name=q value=\"%s\"></form>"
            "<script>document.getElementById('t').insertAdjacentText('afterend', ' js:' + document.characterSet)</script>"
            "</body></html>") % (meta, title, title, text, text)


def links(meta, urls):
    return ("<!DOCTYPE html><html><head>%s<title>links</title></head><body>%s</body></html>"
            % (meta, "".join('<p><a href="%s">l%d</a></p>' % (u, i) for i, u in enumerate(urls))))


def main():
    shutil.copytree(os.path.join(HERE, "site"), OUT, dirs_exist_ok=True)
    if os.path.exists(FONT):
        shutil.copy(FONT, os.path.join(OUT, "font.ttf"))
    latin, jp, zh = "café naïve Ærø ß ©", "日本語のテキスト、カタカナ", "中文页面，简体字"
    write("latin1.html", page("latin1", latin, '<meta charset="iso-8859-1">').encode("latin-1"))
    write("latin1-header.html", page("latin1h", latin, "").encode("latin-1"), "text/html; charset=ISO-8859-1")
    write("win1252.html", page("w1252", latin + " “q” €", '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">').encode("cp1252"))
    write("sjis.html", page("sjis", jp, '<meta charset="Shift_JIS">').encode("shift_jis"))
    write("sjis-header.html", page("sjish", jp, "").encode("shift_jis"), "text/html; charset=Shift_JIS")
    write("eucjp.html", page("eucjp", jp, '<meta charset="euc-jp">').encode("euc_jp"))
    write("gbk.html", page("gbk", zh, '<meta charset="gbk">').encode("gbk"))
    write("gb18030-header.html", page("gb18030", zh, "").encode("gb18030"), "text/html; charset=gb18030")
    write("big5.html", page("big5", "繁體中文", '<meta charset="big5">').encode("big5"))
    write("nocharset.html", page("nocharset", latin, "").encode("latin-1"))
    write("bom8.html", codecs.BOM_UTF8 + page("bom8", zh, "").encode("utf-8"))
    write("bom16le.html", codecs.BOM_UTF16_LE + page("bom16le", zh, "").encode("utf-16-le"))
    write("bom16be.html", codecs.BOM_UTF16_BE + page("bom16be", zh, "").encode("utf-16-be"))
    write("utf16-header.html", page("utf16h", zh, "").encode("utf-16-le"), "text/html; charset=utf-16le")
    write("iso2022jp.html", page("iso2022jp", jp, "").encode("iso2022_jp"), "text/html; charset=iso-2022-jp")
    # outbound links with characters beyond ASCII as they are (README: "Links in pages in a legacy encoding")
    latin_urls = ["https://www.example.org/café?q=naïve", "https://bücher.example/x"]
    jp_urls = ["https://ja.example.org/wiki/日本?q=日", "https://日本.example/x"]
    write("links-latin1.html", links('<meta charset="iso-8859-1">', latin_urls).encode("latin-1"))
    write("links-sjis.html", links('<meta charset="shift_jis">', jp_urls).encode("shift_jis"))
    write("links-gbk.html", links('<meta charset="gbk">', jp_urls).encode("gbk"))
    write("links-utf8.html", links('<meta charset="utf-8">', latin_urls + jp_urls).encode("utf-8"))
    rows = "".join('<tr><td>%d</td><td><a href="other.html#r%d">row %d</a></td><td><img src="img.svg" width=4 height=4 alt="">'
                   '</td><td><code>&lt;x&gt; &amp; %d</code></td></tr>\n' % (i, i, i, i) for i in range(60000))
    write("huge.html", ('<!doctype html><html><head><meta charset=utf-8><title>huge</title></head><body><table>' + rows +
                        '</table><script>document.title += " " + document.querySelectorAll("tr").length</script></body></html>').encode())


if __name__ == "__main__":
    main()
