/*
 * hop — see hop.h.
 */
#include "hop.h"

static int same_name(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return 0;
    for (size_t i = 0; i != alen; ++i) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

int gw_hop_named(const char *value, size_t value_len, const char *name, size_t name_len)
{
    const char *p = value, *end = value + value_len;
    if (name_len == 0)
        return 0;
    while (p != end) {
        const char *item = p, *item_end;
        while (p != end && *p != ',')
            ++p;
        item_end = p;
        if (p != end)
            ++p; /* the comma */
        /* RFC 9110 5.6.1: OWS around the items */
        while (item != item_end && (*item == ' ' || *item == '\t'))
            ++item;
        while (item_end != item && (item_end[-1] == ' ' || item_end[-1] == '\t'))
            --item_end;
        if (same_name(item, (size_t)(item_end - item), name, name_len))
            return 1;
    }
    return 0;
}

int gw_hop_fixed(const char *name, size_t len)
{
#define NAME(lit) {lit, sizeof(lit) - 1}
    static const struct {
        const char *name;
        size_t len;
    } fixed[] = {NAME("connection"), NAME("keep-alive"), NAME("proxy-connection"), NAME("te"), NAME("trailer"),
                 NAME("transfer-encoding"), NAME("upgrade"), NAME("proxy-authenticate"), NAME("proxy-authorization"),
                 {NULL, 0} /* end of list */};
#undef NAME
    for (size_t i = 0; fixed[i].name != NULL; ++i)
        if (same_name(name, len, fixed[i].name, fixed[i].len))
            return 1;
    return 0;
}
