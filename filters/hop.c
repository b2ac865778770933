/*
 * hop — see hop.h.
 */
#include "hop.h"

/* a's name against b's, bytes in lower case, a prefix before the longer name: <0, 0, >0 */
static int compare_names(const char *a, size_t alen, const char *b, size_t blen)
{
    for (size_t i = 0; i != alen && i != blen; ++i) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return x < y ? -1 : 1;
    }
    return alen < blen ? -1 : alen > blen;
}

static int same_name(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && compare_names(a, alen, b, blen) == 0;
}

/* the next item of the list value[*pos..len) into *item, *item_len (blanks around it trimmed; empty when the list has an
 * empty one), *pos after it; 0 when none is left */
static int next_item(const char *value, size_t value_len, size_t *pos, const char **item, size_t *item_len)
{
    const char *p = value + *pos, *end = value + value_len, *b = p, *e;
    if (p == end)
        return 0;
    while (p != end && *p != ',')
        ++p;
    e = p;
    *pos = (size_t)(p - value) + (p != end); /* (the comma) */
    /* RFC 9110 5.6.1: OWS around the items */
    while (b != e && (*b == ' ' || *b == '\t'))
        ++b;
    while (e != b && (e[-1] == ' ' || e[-1] == '\t'))
        --e;
    *item = b, *item_len = (size_t)(e - b);
    return 1;
}

int gw_hop_named(const char *value, size_t value_len, const char *name, size_t name_len)
{
    const char *item;
    size_t pos = 0, item_len;
    if (name_len == 0)
        return 0;
    while (next_item(value, value_len, &pos, &item, &item_len))
        if (same_name(item, item_len, name, name_len))
            return 1;
    return 0;
}

static int compare_entries(const gw_hop_name_t *x, const gw_hop_name_t *y)
{
    int c = compare_names(x->name, x->len, y->name, y->len);
    return c != 0 ? c : x->index < y->index ? -1 : x->index > y->index;
}

/* heapsort's sift-down of names[at] within names[0..n) */
static void sift_down(gw_hop_name_t *names, size_t at, size_t n)
{
    for (size_t child; (child = 2 * at + 1) < n; at = child) {
        if (child + 1 < n && compare_entries(names + child, names + child + 1) < 0)
            ++child;
        if (compare_entries(names + at, names + child) >= 0)
            return;
        gw_hop_name_t t = names[at];
        names[at] = names[child], names[child] = t;
    }
}

/* (a heapsort, not qsort: glibc's qsort takes a malloc'ed buffer for more than 1 KB, and the caller is on a request's
 * path, which allocates from the request's pool only) */
void gw_hop_sort(gw_hop_name_t *names, size_t n)
{
    for (size_t i = 0; i != n; ++i)
        names[i].named = 0;
    for (size_t i = n / 2; i-- != 0;)
        sift_down(names, i, n);
    for (size_t end = n; end > 1; --end) {
        gw_hop_name_t t = names[0];
        names[0] = names[end - 1], names[end - 1] = t;
        sift_down(names, 0, end - 1);
    }
}

void gw_hop_mark(const char *value, size_t value_len, gw_hop_name_t *names, size_t n)
{
    const char *item;
    size_t pos = 0, item_len;
    while (next_item(value, value_len, &pos, &item, &item_len)) {
        if (item_len == 0)
            continue;
        size_t lo = 0, hi = n; /* the first name not before the item */
        while (lo != hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (compare_names(names[mid].name, names[mid].len, item, item_len) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        /* the fields of that name, each set once (an option said again finds the first of them set) */
        for (; lo != n && !names[lo].named && same_name(names[lo].name, names[lo].len, item, item_len); ++lo)
            names[lo].named = 1;
    }
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
