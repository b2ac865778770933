/* Reads each argument through the rewriter (filters/html.c) and prints the ids of the <img> start tags on_tag saw,
 * "a;b;", one line per argument (see foreign.sh). */
#include <stdio.h>
#include <string.h>
#include "html.h"

static void
emit(void *ctx, const char *p, size_t n)
{
    (void)ctx, (void)p, (void)n;
}

static int
on_tag(void *ctx, gw_html_tag_t *tag)
{
    gw_html_attr_t a;
    (void)ctx;
    if (tag->id == GW_HTML_TAG_IMG && gw_html_attr_find(tag, "id", 2, &a) && a.value != NULL)
        printf("%.*s;", (int)a.value_len, a.value);
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
        printf("\n");
    }
    return 0;
}
