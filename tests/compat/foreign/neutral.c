/* Writes each argument as the rewriter (filters/html.c) rewrites it when every <img> it shows on_tag is blocked (its src
 * renamed data-blocked-src, as the gateway neutralises a tracker's), one page per line of a JSON-free format: the pages
 * separated by a NUL byte. fetch.py loads them in Chromium: any request for an <img> left is one the rewriter did not see. */
#include <stdio.h>
#include <string.h>
#include "html.h"

static void
emit(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    fwrite(p, 1, n, stdout);
}

static int
on_tag(void *ctx, gw_html_tag_t *tag)
{
    (void)ctx;
    if (tag->id == GW_HTML_TAG_IMG)
        gw_html_attr_rename(tag, "src", 3, "data-blocked-src", 16);
    return GW_HTML_KEEP;
}

int
main(int argc, char **argv)
{
    gw_html_cb_t cb = {.emit = emit, .on_tag = on_tag};
    for (int i = 1; i < argc; ++i) {
        gw_html_t *h = gw_html_new(0, &cb, NULL);
        if (h == NULL)
            return 1;
        gw_html_write(h, argv[i], strlen(argv[i]));
        gw_html_end(h);
        gw_html_free(h);
        fputc('\0', stdout);
    }
    return 0;
}
