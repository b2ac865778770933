/* libFuzzer driver: the consent UI's parsers (gateway/ui_parse.c) on arbitrary bytes — Accept-Language
 * negotiation, the template tokenizer, string interpolation and HTML escaping. Traps when a result
 * lies outside the input, a section closes what is not open, or escaping loses or invents bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "ui_parse.h"

typedef struct {
    const char *lo, *hi;
    size_t depth;
} tmpl_state_t;

static int
on_piece(void *ctx, int kind, const char *s, size_t len)
{
    tmpl_state_t *st = ctx;
    if ((len != 0 && (s < st->lo || s + len > st->hi)) || (kind == GW_UI_TEXT && len == 0) || kind < GW_UI_TEXT ||
        kind > GW_UI_PARTIAL)
        __builtin_trap();
    if (kind == GW_UI_SECTION || kind == GW_UI_INVERTED)
        ++st->depth;
    if (kind == GW_UI_CLOSE && st->depth-- == 0)
        __builtin_trap();
    return 0;
}

static void
count(void *ctx, const char *s, size_t len)
{
    if (len != 0 && s == NULL)
        __builtin_trap();
    *(size_t *)ctx += len;
}

static int
lookup(void *ctx, const char *name, size_t len, const char **value, size_t *value_len)
{
    if (len == 1 && name[0] == 'n') {
        *value = "<&>", *value_len = 3;
        return 1;
    }
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const codes[] = {"en", "zh-CN", "fr", "pt-BR", "zh-Hant"};
    const char *s = (const char *)data;

    int l = gw_ui_negotiate(s, size, codes, 5);
    if (l < -1 || l >= 5)
        __builtin_trap();

    tmpl_state_t st = {s, s + size, 0};
    gw_ui_tmpl_err_t err;
    int rc = gw_ui_parse_template(s, size, on_piece, &st, &err);
    if (rc > 0 || rc < GW_UI_ECALLBACK || (rc == 0 && st.depth != 0))
        __builtin_trap();
    if (rc != 0 && (err.at >= size || (err.name != NULL && (err.name < s || err.name + err.name_len > s + size))))
        __builtin_trap();

    size_t specials = 0, extra, out = 0;
    for (size_t i = 0; i != size; ++i)
        specials += memchr("&<>\"'", s[i], 5) != NULL && s[i] != '\0';
    gw_ui_escape(s, size, count, &out);
    extra = out - size;
    if (out < size || extra < specials * 3 || extra > specials * 5)
        __builtin_trap();

    /* interpolation keeps every byte (escaped) except "{n}", which becomes the longer "&lt;&amp;&gt;" */
    size_t escaped = out;
    out = 0;
    gw_ui_interpolate(s, size, lookup, count, &out);
    if (out < escaped)
        __builtin_trap();
    return 0;
}
