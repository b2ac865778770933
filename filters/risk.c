/*
 * risk — risk-list engine. See risk.h for the contract.
 *
 * A list is one immutable object; besides its name and header it holds
 *   - `arena`: the entries back to back, each a record
 *       [u8 host_len][u8 flags][u16 path_len, native order][host][path][NUL]
 *     from offset 1 (a zero slot means "empty"). A URL entry's path follows its host, so
 *     "host/path" is one NUL-terminated string. Serialisation walks the arena in order.
 *   - `slots`: an open-addressing table (linear probing, load <= 3/4, any size: a key's home
 *     slot is taken from its low 32 bits by a multiply, not a mask)
 *     of u64 = the entry's 62-bit key (its hash, see host_key) | SLOT_GROUP | SLOT_SUFFIX:
 *     a host entry (SLOT_SUFFIX when it is a public suffix), or with SLOT_GROUP the group of
 *     all URL entries of one host (see build_groups). Beside it, in `offs`, the offset of the
 *     slot's record in `arena` (or of its group in `groups`), read only when building and for
 *     a URL group. A lookup of a host entry compares the 62-bit key and reads nothing else:
 *     a listed host costs one memory round trip, and the table a lookup touches is 8 bytes a
 *     slot (10.7 MB at 1M domains, which a large last-level cache mostly holds). Two names
 *     with the same key would be taken for each other, a chance of ~2^-62 per probe that can
 *     only ever flag a name, never let a listed one pass (a name's own entry always matches).
 *     Building compares the strings, so a list holds no duplicates.
 *   - `filter` (lists of 64K entries or more): a split-block Bloom filter of the hosts,
 *     ~1 byte per entry, that answers most clean names without touching the table.
 * At 1M domains: (8 + 4) bytes x 1.33M slots + ~22 bytes of record + 1 byte of filter, about 39
 * bytes per domain (see host_slots_for), no per-entry allocation.
 * A set adds one small filter over the keys of its lists without a filter (see small_build).
 *
 * Hash: the FNV-1a hashes of a host's labels, folded from the right (see label_hashes), so
 * the pass that lowers and checks a looked-up host also yields the hash of every parent
 * domain; a lookup then costs one probe per label and list, all prefetched at once.
 * Building inserts entries in batches whose slots are prefetched together (see flush).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libpsl.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "qsbr.h"
#include "risk.h"
#include "url.h"

/* record flags */
enum {
    F_URL = 1,      /* has a path */
    F_SUB = 2,      /* URL entry that also matches subdomains (abp `||`) */
    F_BOUNDARY = 4, /* URL entry whose path must end at a separator (abp `^`) */
    F_IP = 8,       /* host is an IP literal */
    F_SUFFIX = 16,  /* host is a public suffix */
    F_MARK = 128    /* edits: a remove[] item that named an entry (temporary lists only) */
};
#define KEY_FLAGS (F_URL | F_SUB | F_BOUNDARY)
#define KEY_MASK 0x3fffffffffffffffull /* a slot: the key, */
#define SLOT_GROUP (1ull << 63)        /* the slot is a URL group */
#define SLOT_SUFFIX (1ull << 62)       /* the host entry is a public suffix */
#define GROUP_BIT 0x80000000u          /* in a slot's offset: a URL group in `groups`, not a record in `arena` */
#define SUFFIX_BIT 0x40000000u         /* in a slot's offset: the host entry is a public suffix (F_SUFFIX) */
#define OFF_MASK 0x3fffffffu           /* a slot's offset: arena and groups stay below 1 GiB */
#define REC_HDR 4
#define HEADER_MAX 8192
#define UNICODE_INPUT_MAX 1024

struct st_gw_risk_list_t {
    char *name;
    gw_list_format_t format;
    gw_risk_action_t action;
    uint64_t version;
    int64_t updated_at_ms;
    int refs;         /* sets holding this list; changed by writers only (under writer_lock) */
    uint64_t *slots;  /* key | SLOT_GROUP | SLOT_SUFFIX; 0: empty */
    uint32_t *offs;   /* each slot's record (or with GROUP_BIT, group) offset */
    size_t cap;       /* slots (any number: a key's home slot is the high half of (its low 32 bits x cap)) */
    uint64_t *uslots; /* while building: URL entries by (host, path, flags), to find duplicates */
    size_t umask;
    uint8_t *groups; /* URL entries grouped by host (see build_groups), referenced by slots */
    size_t groups_len;
    uint64_t label_counts; /* bit min(n, 63): a name entry (host or URL) of n labels is listed; bit 0: an address */
    uint32_t *filter;      /* large lists: split-block Bloom filter of the hosts, 8 words per block (NULL: none) */
    size_t filter_mask;    /* filter_mask + 1 blocks */
    uint8_t *arena;
    size_t arena_len, arena_cap;
    size_t count, hosts, ips, urls, suffixes;
    char *header; /* the text's leading comment block, verbatim (NULL when none) */
    size_t header_len;
};

struct st_gw_risk_set_t {
    size_t n;
    gw_risk_list_t *lists[GW_RISK_MAX_LISTS];
    uint8_t order[GW_RISK_MAX_LISTS]; /* list indexes by precedence: allow, block, warn, monitor */
    uint64_t *small;                  /* the keys of all lists without a filter of their own, see small_build (NULL: none) */
    size_t small_mask;                /* small_mask + 1 words */
};

/* ---- host normalisation ------------------------------------------------------------------ */

/*
 * Byte classes of the ASCII host pass. C_FORBID: the WHATWG URL forbidden domain code
 * points (controls, space, # % / : < > ? @ [ \ ] ^ |, DEL), plus every byte >= 0x80 (the
 * Unicode path runs before). C_NAME: what an entry's label may hold, RFC 1123 letters,
 * digits and hyphen, and '_', which real lists hold (RFC 2181 §11 allows it in DNS).
 */
enum { C_FORBID = 1, C_NAME = 2, C_UPPER = 4, C_DIGIT = 8 };
static const uint8_t cclass[256] = {
    [0 ... 0x20] = C_FORBID,
    ['#'] = C_FORBID,
    ['%'] = C_FORBID,
    ['/'] = C_FORBID,
    [':'] = C_FORBID,
    ['<'] = C_FORBID,
    ['>'] = C_FORBID,
    ['?'] = C_FORBID,
    ['@'] = C_FORBID,
    ['['] = C_FORBID,
    ['\\'] = C_FORBID,
    [']'] = C_FORBID,
    ['^'] = C_FORBID,
    ['|'] = C_FORBID,
    [0x7f ... 0xff] = C_FORBID,
    ['a' ... 'z'] = C_NAME,
    ['0' ... '9'] = C_NAME | C_DIGIT,
    ['-'] = C_NAME,
    ['_'] = C_NAME,
    ['A' ... 'Z'] = C_NAME | C_UPPER,
};

static char
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/*
 * Host hashing. A host's hash folds the FNV-1a hashes of its labels from the right, so the
 * hash of every parent domain is an intermediate value of the host's own: the lookup pass
 * that lowers and checks the host also hashes its labels, and one fold per label gives
 * the hashes of all levels. IP literals are hashed the same way and probed at level 0 only.
 */
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define MAX_LABELS (GW_RISK_HOST_MAX / 2 + 1)

typedef struct st_labels_t {
    size_t n;
    uint8_t start[MAX_LABELS];
    uint64_t hash[MAX_LABELS];
} labels_t;

static uint64_t
fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

static uint64_t
fold(uint64_t h, uint64_t label_hash)
{
    h = (h ^ label_hash) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 32);
}

/* a label's hash, 8 bytes per step (the byte order only has to agree within the process) */
static uint64_t
label_hash(const char *p, size_t n)
{
    uint64_t h = (n + 1) * 0x9e3779b97f4a7c15ull, w;
    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    if (n != 0) { /* 1-7 bytes in at most two loads, every byte in w (as wyhash reads a short tail) */
        if (n >= 4) {
            uint32_t lo, hi;
            memcpy(&lo, p, 4), memcpy(&hi, p + n - 4, 4);
            w = (uint64_t)hi << 32 | lo;
        } else {
            w = (uint64_t)(unsigned char)p[0] << 16 | (uint64_t)(unsigned char)p[n >> 1] << 8 | (unsigned char)p[n - 1];
        }
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    return h;
}

/* splits s[0..n) at '.' and hashes each label */
static void
label_hashes(const char *s, size_t n, labels_t *lab)
{
    size_t start = 0;
    lab->n = 0, lab->start[0] = 0;
    for (size_t i = 0; i != n; ++i) {
        if (s[i] == '.') {
            lab->hash[lab->n++] = label_hash(s + start, i - start);
            lab->start[lab->n] = (uint8_t)(start = i + 1);
        }
    }
    lab->hash[lab->n++] = label_hash(s + start, n - start);
}

/* a host's key: 62 bits of its hash, never 0 (an empty slot), so that a slot has room for two flags */
static uint64_t
host_key(uint64_t h)
{
    h &= KEY_MASK;
    return h != 0 ? h : 1;
}

/* hs[k]: the key of the suffix starting at label k (k = 0: the whole host) */
static void
level_hashes(const labels_t *lab, uint64_t *hs)
{
    uint64_t h = 0;
    for (size_t k = lab->n; k-- != 0;) {
        h = fold(h, lab->hash[k]);
        hs[k] = host_key(fmix64(h));
    }
}

static uint64_t
hash_host(const char *s, size_t n)
{
    labels_t lab;
    uint64_t h = 0;
    label_hashes(s, n, &lab);
    for (size_t k = lab.n; k-- != 0;)
        h = fold(h, lab.hash[k]);
    return host_key(fmix64(h));
}

/* WHATWG URL "IPv4 number parser": 0 with *v (capped at 2^33 when larger), or -1 */
static int
ipv4_number(const char *s, size_t n, uint64_t *v)
{
    unsigned radix = 10;
    uint64_t x = 0;
    if (n == 0)
        return -1;
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2, n -= 2, radix = 16;
    } else if (n >= 2 && s[0] == '0') {
        s += 1, n -= 1, radix = 8;
    }
    for (size_t i = 0; i != n; ++i) {
        char c = lower(s[i]);
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a') + 10;
        else
            return -1;
        if (d >= radix)
            return -1;
        x = x * radix + d;
        if (x > 0xffffffffull)
            x = 1ull << 33; /* keeps validating the digits; too large either way */
    }
    *v = x;
    return 0;
}

/* WHATWG URL "IPv4 parser": dotted decimal into out, or -1 */
static int
ipv4_parse(const char *s, size_t n, char *out)
{
    uint64_t parts[4] = {0}, addr = 0;
    size_t np = 0, start = 0;
    for (size_t i = 0; i <= n; ++i) {
        if (i == n || s[i] == '.') {
            if (np == 4 || ipv4_number(s + start, i - start, &parts[np]) != 0)
                return -1;
            ++np, start = i + 1;
        }
    }
    for (size_t i = 0; i + 1 < np; ++i) {
        if (parts[i] > 255)
            return -1;
        addr |= parts[i] << (8 * (3 - i));
    }
    if (parts[np - 1] >= (1ull << (8 * (5 - np))))
        return -1;
    addr |= parts[np - 1];
    char *d = out; /* dotted decimal, as "%u.%u.%u.%u" (no sprintf: hosts of every page go through here) */
    for (int shift = 24; shift >= 0; shift -= 8) {
        unsigned b = (unsigned)(addr >> shift) & 255;
        if (b >= 100)
            *d++ = (char)('0' + b / 100);
        if (b >= 10)
            *d++ = (char)('0' + b / 10 % 10);
        *d++ = (char)('0' + b % 10);
        *d++ = shift != 0 ? '.' : '\0';
    }
    return (int)(d - 1 - out);
}

/* an IPv6 literal in canonical text (RFC 5952); *v4 = 1 when it is an IPv4-mapped one (::ffff:a.b.c.d), which
 * then comes out as the dotted IPv4 address a connection to it reaches */
static int
ipv6_parse(const char *s, size_t n, char *out, int *v4)
{
    char tmp[INET6_ADDRSTRLEN + 1];
    struct in6_addr a;
    *v4 = 0;
    if (n == 0 || n >= sizeof(tmp) || memchr(s, '%', n) != NULL)
        return -1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (inet_pton(AF_INET6, tmp, &a) != 1)
        return -1;
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
        *v4 = 1;
        return sprintf(out, "%u.%u.%u.%u", a.s6_addr[12], a.s6_addr[13], a.s6_addr[14], a.s6_addr[15]);
    }
    if (inet_ntop(AF_INET6, &a, out, INET6_ADDRSTRLEN) == NULL)
        return -1;
    return (int)strlen(out);
}

static int
normalize_ipv6(const char *s, size_t n, char *out, gw_risk_host_kind_t *kind, labels_t *lab)
{
    int rc;
    if (s[0] == '[') {
        if (n < 2 || s[n - 1] != ']')
            return -1;
        ++s, n -= 2;
    }
    int v4;
    if ((rc = ipv6_parse(s, n, out, &v4)) > 0)
        label_hashes(out, (size_t)rc, lab);
    *kind = v4 ? GW_RISK_HOST_IPV4 : GW_RISK_HOST_IPV6;
    return rc;
}

/*
 * A host -> normalised (see gw_risk_normalize_host), in one pass that lowers, checks and
 * hashes each label into *lab. Returns -2 at the first byte >= 0x80 (the caller takes the
 * Unicode path), -1 when the host is rejected.
 */
static int
normalize_ascii(const char *s, size_t n, int flags, char *out, gw_risk_host_kind_t *kind, labels_t *lab)
{
    int strict = !(flags & GW_RISK_NORM_LOOKUP), digits = 1, rc;
    uint64_t v;
    size_t start = 0;

    if (n != 0 && s[n - 1] == '.')
        --n;
    if (n > GW_RISK_HOST_MAX) {
        for (size_t i = 0; i != n; ++i)
            if ((unsigned char)s[i] >= 0x80)
                return -2;
        return -1;
    }
    if (n == 0)
        return -1;
    if (s[0] == '[')
        return normalize_ipv6(s, n, out, kind, lab);
    lab->n = 0, lab->start[0] = 0;
    for (size_t i = 0;; ++i) {
        /* a label: lowered as it is copied, its bytes' classes gathered (any: one of them has the bit, all: each) */
        unsigned any = 0, all = C_NAME | C_DIGIT;
        for (; i != n && s[i] != '.'; ++i) {
            unsigned char c = (unsigned char)s[i], cl = cclass[c];
            any |= cl, all &= cl;
            out[i] = (char)(c + ((cl & C_UPPER) << 3)); /* C_UPPER << 3 == 'a' - 'A' */
        }
        if ((any & C_FORBID) || (strict && !(all & C_NAME))) { /* the first byte the label may not hold decides */
            for (size_t k = start;; ++k) {
                unsigned char c = (unsigned char)s[k], cl = cclass[c];
                if (cl & C_FORBID)
                    return c >= 0x80 ? -2 : c == ':' ? normalize_ipv6(s, n, out, kind, lab) : -1;
                if (strict && !(cl & C_NAME))
                    return -1;
            }
        }
        digits = (all & C_DIGIT) != 0;
        if (i == start || i - start > 63)
            return -1;
        if (strict && (out[start] == '-' || out[i - 1] == '-'))
            return -1; /* RFC 1123 §2.1: a label neither starts nor ends with a hyphen */
        lab->hash[lab->n++] = label_hash(out + start, i - start);
        if (i == n)
            break;
        out[i] = '.';
        start = i + 1, lab->start[lab->n] = (uint8_t)start;
    }
    out[n] = '\0';
    /* WHATWG URL "ends in a number": the last label is digits, or an IPv4 number such as 0x7f */
    if (digits || (n - start >= 2 && out[start] == '0' && out[start + 1] == 'x' && ipv4_number(out + start, n - start, &v) == 0)) {
        *kind = GW_RISK_HOST_IPV4;
        if ((rc = ipv4_parse(out, n, out)) > 0)
            label_hashes(out, (size_t)rc, lab);
        return rc;
    }
    *kind = GW_RISK_HOST_NAME;
    return (int)n;
}

/* decodes one UTF-8 sequence at s[*i..n) (RFC 3629: no overlongs, no surrogates); 0 or -1 */
static int
utf8_next(const unsigned char *s, size_t n, size_t *i, uint32_t *cp)
{
    unsigned char c = s[*i];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c, *i += 1;
        return 0;
    }
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, v = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, v = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, v = c & 0x07, min = 0x10000;
    else
        return -1;
    if (n - *i < len)
        return -1;
    for (size_t k = 1; k != len; ++k) {
        if ((s[*i + k] & 0xc0) != 0x80)
            return -1;
        v = (v << 6) | (s[*i + k] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return -1;
    *cp = v, *i += len;
    return 0;
}

/* UTS #46 code points "ignored" (mapped to nothing): soft hyphen, zero-width space, variation selectors, ... */
static int
is_ignored(uint32_t c)
{
    return c == 0xad || c == 0x34f || (c >= 0x180b && c <= 0x180d) || c == 0x180f || c == 0x200b || c == 0x2060 || c == 0x2064 ||
           (c >= 0xfe00 && c <= 0xfe0f) || c == 0xfeff || (c >= 0x1bca0 && c <= 0x1bca3) || (c >= 0xe0100 && c <= 0xe01ef);
}

/* RFC 3492 §6.1 bias adaptation */
static uint32_t
puny_adapt(uint32_t delta, uint32_t numpoints, int first)
{
    uint32_t k = 0;
    delta = first ? delta / 700 : delta / 2;
    delta += delta / numpoints;
    while (delta > ((36 - 1) * 26) / 2) {
        delta /= 36 - 1;
        k += 36;
    }
    return k + (36 * delta) / (delta + 38);
}

/* RFC 3492 §6.3: encodes cp[0..n) into out[0..cap); returns the length or -1 (too long, overflow) */
static int
punycode_encode(const uint32_t *cp, size_t n, char *out, size_t cap)
{
    size_t o = 0, b = 0, h;
    uint32_t next = 128, bias = 72;
    uint64_t delta = 0;
#define EMIT(ch)                                                                                                                   \
    do {                                                                                                                           \
        if (o == cap)                                                                                                              \
            return -1;                                                                                                             \
        out[o++] = (ch);                                                                                                           \
    } while (0)
    for (size_t i = 0; i != n; ++i) {
        if (cp[i] < 0x80) {
            EMIT((char)cp[i]);
            ++b;
        }
    }
    if (b != 0)
        EMIT('-');
    for (h = b; h < n;) {
        uint32_t m = UINT32_MAX;
        for (size_t i = 0; i != n; ++i)
            if (cp[i] >= next && cp[i] < m)
                m = cp[i];
        delta += (uint64_t)(m - next) * (h + 1);
        if (delta > UINT32_MAX)
            return -1;
        next = m;
        for (size_t i = 0; i != n; ++i) {
            if (cp[i] < next && ++delta > UINT32_MAX)
                return -1;
            if (cp[i] == next) {
                uint32_t q = (uint32_t)delta;
                for (uint32_t k = 36;; k += 36) {
                    uint32_t t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias, d;
                    if (q < t)
                        break;
                    d = t + (q - t) % (36 - t);
                    EMIT((char)(d < 26 ? 'a' + d : '0' + d - 26));
                    q = (q - t) / (36 - t);
                }
                EMIT((char)(q < 26 ? 'a' + q : '0' + q - 26));
                bias = puny_adapt((uint32_t)delta, (uint32_t)h + 1, h == b);
                delta = 0;
                ++h;
            }
        }
        ++delta, ++next;
    }
#undef EMIT
    return (int)o;
}

/*
 * Unicode host -> ASCII (lowered by libpsl: Unicode lower case + NFKC; labels split at '.'
 * and U+3002; UTS #46 ignored code points dropped; non-ASCII labels punycoded). Writes at
 * most cap bytes into out; returns the length or -1.
 */
static int
unicode_to_ascii(const char *in, size_t len, char *out, size_t cap)
{
    char src[UNICODE_INPUT_MAX + 1], *low = NULL;
    uint32_t cps[64];
    size_t o = 0, i, ncp = 0, nonascii = 0, lowlen;
    int ret = -1;
    uint32_t cp;

    if (len > UNICODE_INPUT_MAX)
        return -1;
    for (i = 0; i < len;) {
        size_t at = i;
        if (utf8_next((const unsigned char *)in, len, &i, &cp) != 0 || cp == 0)
            return -1;
        if (!is_ignored(cp)) { /* UTS #46 drops these before normalising, so they cannot block a composition */
            memcpy(src + o, in + at, i - at);
            o += i - at;
        }
    }
    src[o] = '\0';
    o = 0;
    if (psl_str_to_utf8lower(src, "utf-8", NULL, &low) != PSL_SUCCESS || low == NULL)
        goto Exit;
    /* lower case then NFKC is not closed (U+03D3 -> U+038E, a capital): repeat to a fixed point, as
     * UTS #46's mapping (NFKC_Casefold) is */
    for (int round = 0;; ++round) {
        char *again = NULL;
        if (round == 3 || psl_str_to_utf8lower(low, "utf-8", NULL, &again) != PSL_SUCCESS || again == NULL) {
            psl_free_string(again);
            goto Exit;
        }
        if (strcmp(again, low) == 0) {
            psl_free_string(again);
            break;
        }
        psl_free_string(low);
        low = again;
    }
    lowlen = strlen(low);
    for (i = 0;;) {
        int end = i == lowlen;
        if (!end && utf8_next((const unsigned char *)low, lowlen, &i, &cp) != 0)
            goto Exit;
        if (end || cp == '.' || cp == 0x3002) {
            if (nonascii) {
                int n;
                if (cap - o < 4)
                    goto Exit;
                memcpy(out + o, "xn--", 4);
                o += 4;
                if ((n = punycode_encode(cps, ncp, out + o, cap - o)) < 0)
                    goto Exit;
                o += (size_t)n;
            } else {
                if (cap - o < ncp)
                    goto Exit;
                for (size_t k = 0; k != ncp; ++k)
                    out[o++] = (char)cps[k];
            }
            if (end)
                break;
            if (o == cap)
                goto Exit;
            out[o++] = '.';
            ncp = 0, nonascii = 0;
        } else if (!is_ignored(cp)) {
            if (ncp == sizeof(cps) / sizeof(cps[0]))
                goto Exit; /* a label of more than 63 characters cannot fit in 63 bytes */
            cps[ncp++] = cp;
            nonascii |= cp >= 0x80;
        }
    }
    ret = (int)o;
Exit:
    psl_free_string(low);
    return ret;
}

static int
normalize(const char *in, size_t len, int flags, char *out, gw_risk_host_kind_t *kind, labels_t *lab)
{
    char tmp[GW_RISK_HOST_MAX + 2];
    int n;

    if (in == NULL || len == 0)
        return -1;
    /* a URL's host is percent-decoded before anything else (WHATWG URL host parser): "ev%69l.example" is
     * evil.example to a browser; an escape that is not one stays and is refused below, as browsers refuse it */
    char dec[GW_RISK_HOST_MAX + 2];
    if ((flags & GW_RISK_NORM_LOOKUP) && memchr(in, '%', len) != NULL) {
        size_t o = 0;
        for (size_t i = 0; i != len; ++i) {
            int hi, lo;
            if (o == sizeof(dec))
                return -1;
            if (in[i] == '%' && i + 2 < len && (hi = gw_url_hex_digit(in[i + 1])) >= 0 && (lo = gw_url_hex_digit(in[i + 2])) >= 0) {
                dec[o++] = (char)(hi << 4 | lo);
                i += 2;
            } else {
                dec[o++] = in[i];
            }
        }
        in = dec, len = o;
    }
    if ((n = normalize_ascii(in, len, flags, out, kind, lab)) != -2)
        return n;
    if ((n = unicode_to_ascii(in, len, tmp, sizeof(tmp))) < 0)
        return -1;
    n = normalize_ascii(tmp, (size_t)n, flags, out, kind, lab);
    return n < 0 ? -1 : n;
}

int
gw_risk_normalize_host(const char *in, size_t len, int flags, char *out, gw_risk_host_kind_t *kind)
{
    gw_risk_host_kind_t k;
    labels_t lab;
    return normalize(in, len, flags, out, kind != NULL ? kind : &k, &lab);
}

/* ---- records and the table --------------------------------------------------------------- */

static size_t
rec_hlen(const uint8_t *r)
{
    return r[0];
}

static size_t
rec_plen(const uint8_t *r)
{
    uint16_t v;
    memcpy(&v, r + 2, 2);
    return v;
}

static const char *
rec_host(const uint8_t *r)
{
    return (const char *)r + REC_HDR;
}

static const char *
rec_path(const uint8_t *r)
{
    return (const char *)r + REC_HDR + r[0];
}

static size_t
rec_size(const uint8_t *r)
{
    return REC_HDR + rec_hlen(r) + rec_plen(r) + 1;
}

static int
casecmp_n(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i != n; ++i)
        if (lower(a[i]) != lower(b[i]))
            return 1;
    return 0;
}

static int
is_abp_separator(unsigned char c)
{
    /* Adblock `^`: anything but a letter, a digit, or one of _ - . % */
    return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
             c == '%');
}

static int
path_matches(const uint8_t *r, const char *path, size_t path_len)
{
    size_t plen = rec_plen(r);
    if (path_len < plen || casecmp_n(rec_path(r), path, plen) != 0)
        return 0;
    return !(r[1] & F_BOUNDARY) || path_len == plen || is_abp_separator((unsigned char)path[plen]);
}

/* uslots' size (power of two) for count URL entries: load <= 5/8 */
static size_t
slots_for(size_t count)
{
    size_t cap = 16;
    while (cap / 8 * 5 < count)
        cap *= 2;
    return cap;
}

/* the host table: key (hash_host()) and offset, its GROUP_BIT and SUFFIX_BIT copied into the slot */
static size_t
home_slot(uint64_t key, size_t cap)
{
    return (size_t)(((key & 0xffffffffu) * cap) >> 32);
}

/* the host table's size for count entries: load <= 3/4 */
static size_t
host_slots_for(size_t count)
{
    return count + count / 3 + 16;
}

static void
host_insert(uint64_t *slots, uint32_t *offs, size_t cap, uint64_t key, uint32_t off)
{
    size_t i = home_slot(key, cap);
    while (slots[i] != 0)
        i = i + 1 != cap ? i + 1 : 0;
    slots[i] = key | ((off & GROUP_BIT) ? SLOT_GROUP : 0) | ((off & SUFFIX_BIT) ? SLOT_SUFFIX : 0);
    offs[i] = off;
}

/* uslots (building only): (upper 32 bits of the hash) << 32 | arena offset; the record holds the key */
static void
url_insert(uint64_t *slots, size_t mask, uint64_t h, uint32_t off)
{
    size_t i = h & mask;
    while (slots[i] != 0)
        i = (i + 1) & mask;
    slots[i] = (h >> 32) << 32 | off;
}

/* a host record's slot offset */
static uint32_t
rec_slot_off(const uint8_t *r, size_t off)
{
    return (uint32_t)off | ((r[1] & F_SUFFIX) ? SUFFIX_BIT : 0);
}

/* the key of the entry in host-table slot i (not empty) */
static uint64_t
slot_hash(const gw_risk_list_t *l, size_t i)
{
    return l->slots[i] & KEY_MASK;
}

/* the key of a URL entry in uslots: host, path (any case) and the flags that change its meaning */
static uint64_t
url_hash(const char *host, size_t hlen, unsigned flags, const char *path, size_t plen)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i != hlen; ++i)
        h = (h ^ (unsigned char)host[i]) * FNV_PRIME;
    h = (h ^ (0x100 | (flags & KEY_FLAGS))) * FNV_PRIME;
    for (size_t i = 0; i != plen; ++i)
        h = (h ^ (unsigned char)lower(path[i])) * FNV_PRIME;
    return fmix64(h);
}

static uint64_t
rec_hash(const uint8_t *r)
{
    return (r[1] & F_URL) ? url_hash(rec_host(r), rec_hlen(r), r[1], rec_path(r), rec_plen(r))
                          : hash_host(rec_host(r), rec_hlen(r));
}

/*
 * The big arrays (slots, arena, filter) of 1 MiB or more live in anonymous mappings of their own with
 * MADV_HUGEPAGE: building a 1M-entry list touches ~60 MB, which in 4 KiB pages is ~15,000 page faults
 * (on a VM each one a trap to the hypervisor) and a TLB miss on nearly every random insert. Smaller
 * ones come from malloc. Which allocator holds an array follows from its size, so callers pass the size
 * they allocated. big_alloc() memory is zeroed.
 */
#define BIG_MIN ((size_t)1 << 20)

static void *
big_alloc(size_t size)
{
    void *p;
    if (size < BIG_MIN)
        return calloc(1, size);
    if ((p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, size, MADV_HUGEPAGE); /* where THP is off, only the gain is lost */
#endif
    return p;
}

static void
big_free(void *p, size_t size)
{
    if (p == NULL)
        return;
    if (size < BIG_MIN)
        free(p);
    else
        munmap(p, size);
}

static void *
big_realloc(void *p, size_t old, size_t size)
{
    void *q;
    if (old < BIG_MIN && size < BIG_MIN)
        return realloc(p, size);
    if (old >= BIG_MIN && size >= BIG_MIN)
        return (q = mremap(p, old, size, MREMAP_MAYMOVE)) != MAP_FAILED ? q : NULL;
    if ((q = big_alloc(size)) == NULL)
        return NULL;
    memcpy(q, p, old < size ? old : size);
    big_free(p, old);
    return q;
}

/* rebuilds slots and offs (host entries, from themselves) or uslots (URL entries, from the arena) with cap slots */
static int
table_resize(gw_risk_list_t *l, int urls, size_t cap)
{
    uint64_t *slots = big_alloc(cap * sizeof(*slots));
    uint32_t *offs = urls ? NULL : big_alloc(cap * sizeof(*offs));
    if (slots == NULL || (!urls && offs == NULL)) {
        big_free(slots, cap * sizeof(*slots));
        big_free(offs, cap * sizeof(*offs));
        return -1;
    }
    if (urls) {
        for (size_t off = 1; off < l->arena_len; off += rec_size(l->arena + off))
            if (l->arena[off + 1] & F_URL)
                url_insert(slots, cap - 1, rec_hash(l->arena + off), (uint32_t)off);
        big_free(l->uslots, (l->umask + 1) * sizeof(*slots));
        l->uslots = slots, l->umask = cap - 1;
    } else { /* the host table moves with the keys it holds */
        for (size_t i = 0; i != l->cap; ++i)
            if (l->slots[i] != 0)
                host_insert(slots, offs, cap, slot_hash(l, i), l->offs[i]);
        big_free(l->slots, l->cap * sizeof(*slots));
        big_free(l->offs, l->cap * sizeof(*offs));
        l->slots = slots, l->offs = offs, l->cap = cap;
    }
    return 0;
}

/* while building: the entry with exactly this key (h: entry_hash()), or NULL with the empty slot that ended the probe in
 * *empty (may be NULL) */
static uint8_t *
table_probe(const gw_risk_list_t *l, uint64_t h, const char *host, size_t hlen, unsigned flags, const char *path, size_t plen,
            size_t *empty)
{
    int urls = (flags & F_URL) != 0;
    const uint64_t *slots = urls ? l->uslots : l->slots;
    size_t n = urls ? l->umask + 1 : l->cap;
    if (slots == NULL)
        return NULL;
    for (size_t i = urls ? h & l->umask : home_slot(h, n);; i = i + 1 != n ? i + 1 : 0) {
        uint64_t s = slots[i];
        uint8_t *r;
        if (s == 0) {
            if (empty != NULL)
                *empty = i;
            return NULL;
        }
        if (urls ? (uint32_t)(s >> 32) != (uint32_t)(h >> 32) : (s & KEY_MASK) != h || (s & SLOT_GROUP))
            continue;
        r = l->arena + ((urls ? (uint32_t)s : l->offs[i]) & OFF_MASK);
        if (rec_hlen(r) == hlen && memcmp(rec_host(r), host, hlen) == 0 && (r[1] & KEY_FLAGS) == (flags & KEY_FLAGS) &&
            rec_plen(r) == plen && casecmp_n(rec_path(r), path, plen) == 0)
            return r;
    }
}

static uint8_t *
table_find(const gw_risk_list_t *l, uint64_t h, const char *host, size_t hlen, unsigned flags, const char *path, size_t plen)
{
    return table_probe(l, h, host, hlen, flags, path, plen, NULL);
}

static uint64_t
entry_hash(const char *host, size_t hlen, unsigned flags, const char *path, size_t plen)
{
    return (flags & F_URL) ? url_hash(host, hlen, flags, path, plen) : hash_host(host, hlen);
}

/* a key in a register-blocked Bloom filter of mask + 1 64-bit words: 4 bits of one word (bits_add, bits_may_hold) */
static uint64_t
small_bits(uint64_t key, size_t *word, size_t mask)
{
    uint64_t g = key * 0xd6e8feb86659fd93ull;
    *word = (size_t)(g >> 40) & mask;
    return 1ull << (g & 63) | 1ull << ((g >> 6) & 63) | 1ull << ((g >> 12) & 63) | 1ull << ((g >> 18) & 63);
}

static void
bits_add(uint64_t *f, size_t mask, uint64_t key)
{
    size_t w;
    uint64_t b = small_bits(key, &w, mask);
    f[w] |= b;
}

/* (inlined: a lookup asks it at every level) */
static inline __attribute__((always_inline)) int
bits_may_hold(const uint64_t *f, size_t mask, uint64_t key)
{
    size_t w;
    uint64_t b = small_bits(key, &w, mask);
    return (f[w] & b) == b;
}

/*
 * Public suffixes, to flag entries that cover a whole registry (load time only). libpsl
 * answers one name in ~0.7 us, too slow for a 1M-entry reload, so the rules of the list
 * libpsl was built with (psl_builtin_filename(), Debian's publicsuffix package) are read
 * once into a hash table and matched as libpsl does: a name is a public suffix when a
 * rule names it, a wildcard rule names it or its parent, and no exception rule names it.
 * Without that file, libpsl itself is asked (psl_latest()).
 * Unit tests check the two agree on every rule of the file.
 */
enum { RULE_NORMAL = 1, RULE_WILDCARD = 2, RULE_EXCEPTION = 4 };

enum { RULES_ANY = 1 << 12, RULES_WILD = 1 << 8 }; /* words of the rules' filters */

typedef struct st_psl_rules_t {
    uint64_t *slots; /* hash << 32 | index + 1 */
    size_t mask;
    char **names;
    uint8_t *types;
    size_t count;
    /* filters of the rules' keys (see small_bits), all rules (~10,000: 26 bits a key) and the wildcard rules: an entry
     * that is no rule and whose parent is no wildcard rule, nearly every entry, is answered from these (34 KB, in the
     * nearest caches) without a probe of the table (512 KB) */
    uint64_t any[RULES_ANY], wild[RULES_WILD];
} psl_rules_t;

static psl_rules_t *rules;
static const psl_ctx_t *psl;
static pthread_once_t psl_once = PTHREAD_ONCE_INIT;

/* the rule named name[0..len) (h: its hash_host()), added when absent and add is set */
static uint8_t *
rule_find_h(psl_rules_t *t, const char *name, size_t len, uint64_t h, int add)
{
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        if (t->slots[i] == 0) {
            char *copy;
            if (!add || t->count == t->mask / 2 || (copy = strndup(name, len)) == NULL)
                return NULL;
            t->names[t->count] = copy, t->types[t->count] = 0;
            t->slots[i] = (h >> 32) << 32 | ++t->count;
            return &t->types[t->count - 1];
        }
        if ((uint32_t)(t->slots[i] >> 32) == (uint32_t)(h >> 32)) {
            size_t k = (uint32_t)t->slots[i] - 1;
            if (strlen(t->names[k]) == len && memcmp(t->names[k], name, len) == 0)
                return &t->types[k];
        }
    }
}

static uint8_t *
rule_find(psl_rules_t *t, const char *name, size_t len, int add)
{
    return rule_find_h(t, name, len, hash_host(name, len), add);
}

static psl_rules_t *
rules_load(const char *path)
{
    FILE *f = path != NULL ? fopen(path, "r") : NULL;
    psl_rules_t *t = NULL;
    char line[1024];
    if (f == NULL)
        return NULL;
    if ((t = calloc(1, sizeof(*t))) == NULL || (t->slots = calloc(1 << 16, sizeof(*t->slots))) == NULL ||
        (t->names = calloc(1 << 15, sizeof(*t->names))) == NULL || (t->types = calloc(1 << 15, 1)) == NULL)
        goto Error;
    t->mask = (1 << 16) - 1;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *r = line, name[GW_RISK_HOST_MAX + 1];
        size_t len = strcspn(line, " \t\r\n");
        unsigned type = RULE_NORMAL;
        gw_risk_host_kind_t kind;
        labels_t lab;
        uint8_t *slot;
        int n;
        if (len == 0 || (len >= 2 && r[0] == '/' && r[1] == '/'))
            continue;
        if (r[0] == '!')
            ++r, --len, type = RULE_EXCEPTION;
        else if (len > 2 && r[0] == '*' && r[1] == '.')
            r += 2, len -= 2, type = RULE_WILDCARD; /* stored under the parent */
        if ((n = normalize(r, len, 0, name, &kind, &lab)) < 0 || kind != GW_RISK_HOST_NAME)
            continue;
        if ((slot = rule_find(t, name, (size_t)n, 1)) == NULL)
            goto Error;
        *slot |= (uint8_t)type;
        bits_add(t->any, RULES_ANY - 1, hash_host(name, (size_t)n));
        if (type == RULE_WILDCARD)
            bits_add(t->wild, RULES_WILD - 1, hash_host(name, (size_t)n));
    }
    fclose(f);
    return t;
Error:
    fclose(f);
    if (t != NULL) {
        for (size_t i = 0; i != t->count; ++i)
            free(t->names[i]);
        free(t->slots), free(t->names), free(t->types), free(t);
    }
    return NULL;
}

static void
psl_init(void)
{
    if ((rules = rules_load(psl_builtin_filename())) != NULL)
        return;
    psl = psl_latest(NULL); /* the newer of the system's list and the built-in one */
    if (psl == NULL)
        psl = psl_builtin();
}

/*
 * Is the normalised name host[0..len) (NUL-terminated) a public suffix? Single labels are.
 * h, parent_h: hash_host() of the name and of its parent (level_hashes() gives both).
 */
static int
is_public_suffix(const char *host, size_t len, uint64_t h, uint64_t parent_h)
{
    const char *dot = memchr(host, '.', len);
    const uint8_t *type;
    if (dot == NULL)
        return 1;
    pthread_once(&psl_once, psl_init);
    if (rules == NULL)
        return psl != NULL && psl_is_public_suffix2(psl, host, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE);
    if (!bits_may_hold(rules->any, RULES_ANY - 1, h))
        type = NULL; /* no rule names the host */
    else if ((type = rule_find_h(rules, host, len, h, 0)) != NULL && (*type & RULE_EXCEPTION))
        return 0;
    if (type != NULL && (*type & (RULE_NORMAL | RULE_WILDCARD)))
        return 1; /* libpsl takes `*.nom.br` to make `nom.br` a suffix too */
    if (!bits_may_hold(rules->wild, RULES_WILD - 1, parent_h))
        return 0; /* no wildcard rule names the parent */
    type = rule_find_h(rules, dot + 1, (size_t)(host + len - dot - 1), parent_h, 0);
    return type != NULL && (*type & RULE_WILDCARD);
}

static gw_risk_list_t *
list_new(const char *name, gw_list_format_t format, gw_risk_action_t action, size_t expect)
{
    gw_risk_list_t *l;
    if (name == NULL || name[0] == '\0' || (unsigned)format > GW_FMT_URLS || (unsigned)action > GW_RISK_ALLOW)
        return NULL;
    if ((l = calloc(1, sizeof(*l))) == NULL)
        return NULL;
    l->format = format, l->action = action, l->arena_len = 1;
    l->arena_cap = expect * 28 + 64;
    l->cap = host_slots_for(expect); /* sizes first: gw_risk_list_free() frees by them */
    if ((l->name = strdup(name)) == NULL || (l->arena = big_alloc(l->arena_cap)) == NULL ||
        (l->slots = big_alloc(l->cap * sizeof(*l->slots))) == NULL || (l->offs = big_alloc(l->cap * sizeof(*l->offs))) == NULL) {
        gw_risk_list_free(l);
        return NULL;
    }
    l->arena[0] = 0;
    return l;
}

/* a name of n labels (0: count them) as a bit of label_counts: a lookup skips the levels (parents) no entry has the
 * length of */
static uint64_t
label_count_bit(const char *host, size_t len, size_t n)
{
    if (n == 0) {
        n = 1;
        for (size_t i = 0; i != len; ++i)
            n += host[i] == '.';
    }
    return 1ull << (n < 63 ? n : 63);
}

/*
 * Adds an entry (host already normalised, h its entry_hash(); suffix: whether a name entry is
 * a public suffix; nlabels: the host's labels, 0 when not known). Returns 1 when added, 0 when
 * already present, -1 on ENOMEM or a full arena.
 */
static int
list_put(gw_risk_list_t *l, uint64_t h, const char *host, size_t hlen, unsigned flags, const char *path, size_t plen, int suffix,
         size_t nlabels)
{
    size_t need = REC_HDR + hlen + plen + 1, off, empty = SIZE_MAX; /* a host's slot, found by the probe for it */
    uint16_t p16 = (uint16_t)plen;
    uint8_t *r;

    if (table_probe(l, h, host, hlen, flags, path, plen, &empty) != NULL)
        return 0;
    if (flags & F_URL) {
        if (l->uslots == NULL && table_resize(l, 1, 16) != 0)
            return -1;
        if (slots_for(l->urls + 1) > l->umask + 1 && table_resize(l, 1, (l->umask + 1) * 2) != 0)
            return -1;
    } else if (host_slots_for(l->hosts + l->ips + 1) > l->cap) {
        if (table_resize(l, 0, l->cap * 2) != 0)
            return -1;
        empty = SIZE_MAX; /* (the table moved) */
    }
    if (l->arena_len + need > OFF_MASK)
        return -1;
    if (l->arena_len + need > l->arena_cap) {
        size_t cap = l->arena_cap * 2 > l->arena_len + need ? l->arena_cap * 2 : l->arena_len + need;
        uint8_t *a = big_realloc(l->arena, l->arena_cap, cap);
        if (a == NULL)
            return -1;
        l->arena = a, l->arena_cap = cap;
    }
    flags &= ~(unsigned)(F_SUFFIX | F_MARK);
    l->label_counts |= (flags & F_IP) ? 1 : label_count_bit(host, hlen, nlabels);
    if (!(flags & (F_URL | F_IP)) && suffix)
        flags |= F_SUFFIX, ++l->suffixes;
    off = l->arena_len;
    r = l->arena + off;
    r[0] = (uint8_t)hlen, r[1] = (uint8_t)flags;
    memcpy(r + 2, &p16, 2);
    memcpy(r + REC_HDR, host, hlen);
    if (plen != 0)
        memcpy(r + REC_HDR + hlen, path, plen);
    r[REC_HDR + hlen + plen] = '\0';
    l->arena_len += need;
    if (flags & F_URL) {
        url_insert(l->uslots, l->umask, h, (uint32_t)off);
    } else if (empty != SIZE_MAX) {
        l->slots[empty] = h | ((flags & F_SUFFIX) ? SLOT_SUFFIX : 0);
        l->offs[empty] = rec_slot_off(r, off);
    } else {
        host_insert(l->slots, l->offs, l->cap, h, rec_slot_off(r, off));
    }
    ++l->count;
    if (flags & F_URL)
        ++l->urls;
    else if (flags & F_IP)
        ++l->ips;
    else
        ++l->hosts;
    return 1;
}

/*
 * The filter of a large list (split-block Bloom filter, as in Impala and Parquet: a 32-byte
 * block per key, one bit set in each of its 8 words; ~8.4 bits per entry, ~2% false
 * positives). The table of a large list does not fit in the caches; the filter does, so a
 * lookup of a name that is not listed, the usual case, costs no memory access per label.
 */
#define FILTER_MIN_ENTRIES 65536

static const uint32_t filter_salt[8] = {0x47b6137bu, 0x44974d91u, 0x8824ad5bu, 0xa2b7289du,
                                        0x705495c7u, 0x2df1424bu, 0x9efc4947u, 0x5c6bfb31u};

static uint32_t *
filter_block(const gw_risk_list_t *l, uint64_t h, uint32_t *key)
{
    uint64_t g = h * 0x9e3779b97f4a7c15ull; /* bits independent of the slot index and the fingerprint */
    *key = (uint32_t)g;
    return l->filter + ((g >> 32) & l->filter_mask) * 8;
}

static int
filter_may_hold(const gw_risk_list_t *l, uint64_t h)
{
    uint32_t key, *b;
    if (l->filter == NULL)
        return 1;
    b = filter_block(l, h, &key);
    for (int i = 0; i != 8; ++i)
        if (!(b[i] & (1u << ((key * filter_salt[i]) >> 27))))
            return 0;
    return 1;
}

/*
 * The set's filter of its small lists (those without a filter of their own): a register-blocked
 * Bloom filter (see small_bits), ~16 bits per key (~0.3% false positives). It
 * is a few KB and stays in the nearest caches, so a name no small list holds (nearly every name)
 * costs one load per level instead of a probe of each small list's table.
 */
static int
small_may_hold(const gw_risk_set_t *s, uint64_t key)
{
    return bits_may_hold(s->small, s->small_mask, key);
}

/* builds s->small from the small lists' keys (what s->small held is not s's); without memory lookups probe every
 * small list, only slower */
static void
small_build(gw_risk_set_t *s)
{
    size_t keys = 0, words = 1;
    s->small = NULL, s->small_mask = 0;
    for (size_t i = 0; i != s->n; ++i)
        if (s->lists[i]->filter == NULL)
            keys += s->lists[i]->hosts + s->lists[i]->ips + s->lists[i]->urls; /* (groups: at most urls) */
    if (keys == 0)
        return;
    while (words * 4 < keys) /* 16 bits per key */
        words *= 2;
    if ((s->small = calloc(words, sizeof(*s->small))) == NULL)
        return;
    s->small_mask = words - 1;
    for (size_t i = 0; i != s->n; ++i) {
        const gw_risk_list_t *l = s->lists[i];
        if (l->filter != NULL)
            continue;
        for (size_t k = 0; k != l->cap; ++k) {
            if (l->slots[k] == 0)
                continue;
            bits_add(s->small, s->small_mask, slot_hash(l, k));
        }
    }
}

static void
filter_build(gw_risk_list_t *l)
{
    size_t blocks = 1;
    while (blocks * 32 < l->count)
        blocks *= 2;
    if (l->count < FILTER_MIN_ENTRIES || (l->filter = big_alloc(blocks * 8 * sizeof(*l->filter))) == NULL)
        return; /* without a filter lookups are only slower */
    l->filter_mask = blocks - 1;
    /* every host in the table (host entries and URL groups), from the hashes the slots hold */
    for (size_t s = 0; s != l->cap; ++s) {
        uint32_t key, *b;
        if (s + 16 < l->cap && l->slots[s + 16] != 0) /* (a block a key: the writes ahead are asked for at once) */
            __builtin_prefetch(filter_block(l, slot_hash(l, s + 16), &key), 1);
        if (l->slots[s] == 0)
            continue;
        b = filter_block(l, slot_hash(l, s), &key);
        for (int i = 0; i != 8; ++i)
            b[i] |= 1u << ((key * filter_salt[i]) >> 27);
    }
}

/*
 * URL entries grouped by host. A host's URL entries are one group record in `groups`,
 * referenced by one slot (its offset with GROUP_BIT set), however many paths it has
 * (URLhaus lists 1,450 github.com URLs):
 *   [u8 host_len][3 x u8 0][u32 n][host][NUL][pad to 4][u32 entry offsets, sorted][i32 parents]
 * The entries are sorted by path, ASCII case folded, and parent[i] is the nearest entry
 * before i that is a prefix of entry i (-1: none). The entries that are prefixes of a
 * request path P are then all on the parent chain of the greatest entry <= P (as in
 * cookie_db.c): one binary search and a walk up that chain find the longest one.
 */
static size_t
group_host_off(size_t hlen)
{
    return (8 + hlen + 1 + 3) & ~(size_t)3;
}

static int
pathcmp(const char *a, size_t alen, const char *b, size_t blen)
{
    for (size_t i = 0; i != alen && i != blen; ++i)
        if (lower(a[i]) != lower(b[i]))
            return (unsigned char)lower(a[i]) < (unsigned char)lower(b[i]) ? -1 : 1;
    return alen < blen ? -1 : alen > blen;
}

static int
url_cmp(const void *x, const void *y, void *arena)
{
    const uint8_t *a = (const uint8_t *)arena + *(const uint32_t *)x, *b = (const uint8_t *)arena + *(const uint32_t *)y;
    size_t al = rec_hlen(a), bl = rec_hlen(b);
    int c = memcmp(rec_host(a), rec_host(b), al < bl ? al : bl);
    if (c != 0 || al != bl)
        return c != 0 ? c : al < bl ? -1 : 1;
    c = pathcmp(rec_path(a), rec_plen(a), rec_path(b), rec_plen(b));
    return c != 0 ? c : *(const uint32_t *)x < *(const uint32_t *)y ? -1 : 1; /* stable */
}

static int
same_host(const uint8_t *a, const uint8_t *b)
{
    return rec_hlen(a) == rec_hlen(b) && memcmp(rec_host(a), rec_host(b), rec_hlen(a)) == 0;
}

static int
build_groups(gw_risk_list_t *l)
{
    uint32_t *offs, *stack = NULL;
    size_t n = 0, ngroups = 0, len = 0;
    if ((offs = malloc(l->urls * sizeof(*offs))) == NULL || (stack = malloc(l->urls * sizeof(*stack))) == NULL)
        goto Error;
    for (size_t off = 1; off < l->arena_len; off += rec_size(l->arena + off))
        if (l->arena[off + 1] & F_URL)
            offs[n++] = (uint32_t)off;
    qsort_r(offs, n, sizeof(*offs), url_cmp, l->arena);
    for (size_t i = 0, j; i != n; i = j) {
        for (j = i + 1; j != n && same_host(l->arena + offs[j], l->arena + offs[i]); ++j)
            ;
        len += group_host_off(rec_hlen(l->arena + offs[i])) + (j - i) * 8, ++ngroups;
    }
    if (len > OFF_MASK || (l->groups = calloc(1, len)) == NULL ||
        table_resize(l, 0, host_slots_for(l->hosts + l->ips + ngroups)) != 0)
        goto Error;
    l->groups_len = len;
    len = 0;
    for (size_t i = 0, j; i != n; i = j) {
        const uint8_t *r = l->arena + offs[i];
        uint8_t *g = l->groups + len;
        size_t hlen = rec_hlen(r), depth = 0;
        uint32_t cnt, *ent;
        int32_t *parent;
        for (j = i + 1; j != n && same_host(l->arena + offs[j], r); ++j)
            ;
        cnt = (uint32_t)(j - i);
        ent = (uint32_t *)(g + group_host_off(hlen));
        parent = (int32_t *)(ent + cnt);
        g[0] = (uint8_t)hlen;
        memcpy(g + 4, &cnt, 4);
        memcpy(g + 8, rec_host(r), hlen);
        for (uint32_t k = 0; k != cnt; ++k) {
            const uint8_t *e = l->arena + offs[i + k];
            ent[k] = offs[i + k];
            /* stack: the chain of prefixes ending at the previous entry; drop what is not a prefix of this one */
            while (depth != 0) {
                const uint8_t *t = l->arena + ent[stack[depth - 1]];
                if (rec_plen(t) <= rec_plen(e) && casecmp_n(rec_path(t), rec_path(e), rec_plen(t)) == 0)
                    break;
                --depth;
            }
            parent[k] = depth != 0 ? (int32_t)stack[depth - 1] : -1;
            stack[depth++] = k;
        }
        host_insert(l->slots, l->offs, l->cap, hash_host(rec_host(r), hlen), (uint32_t)len | GROUP_BIT);
        len += group_host_off(hlen) + cnt * 8;
    }
    free(offs);
    free(stack);
    big_free(l->uslots, (l->umask + 1) * sizeof(*l->uslots));
    l->uslots = NULL, l->umask = 0;
    return 0;
Error:
    free(offs);
    free(stack);
    return -1;
}

/* the longest URL entry of group g matching path (exact: the request's own host; else F_SUB only), or NULL */
static const uint8_t *
group_match(const gw_risk_list_t *l, const uint8_t *g, int exact, const char *path, size_t path_len)
{
    uint32_t n;
    memcpy(&n, g + 4, 4);
    const uint32_t *ent = (const uint32_t *)(g + group_host_off(g[0]));
    const int32_t *parent = (const int32_t *)(ent + n);
    size_t lo = 0, hi = n;
    while (lo < hi) { /* the first entry > path */
        size_t mid = (lo + hi) / 2;
        const uint8_t *r = l->arena + ent[mid];
        if (pathcmp(rec_path(r), rec_plen(r), path, path_len) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (int32_t i = (int32_t)lo - 1; i >= 0; i = parent[i]) {
        const uint8_t *r = l->arena + ent[i];
        if ((exact || (r[1] & F_SUB)) && path_matches(r, path, path_len))
            return r;
    }
    return NULL;
}

/* groups URL entries, shrinks the table and the arena to fit, builds the filter; -1 on ENOMEM */
static int
list_finish(gw_risk_list_t *l)
{
    uint8_t *a;
    if (l->arena_len < l->arena_cap && (a = big_realloc(l->arena, l->arena_cap, l->arena_len)) != NULL)
        l->arena = a, l->arena_cap = l->arena_len;
    if (l->urls != 0) {
        if (build_groups(l) != 0)
            return -1;
    } else if (host_slots_for(l->count) + host_slots_for(l->count) / 8 < l->cap) { /* an eighth too big or more */
        (void)table_resize(l, 0, host_slots_for(l->count));
    }
    filter_build(l);
    return 0;
}

/* ---- parsers ----------------------------------------------------------------------------- */

/*
 * Entries wait in a batch so that the table slots of BATCH of them are prefetched before
 * they are inserted: at 1M entries the table is far larger than the caches and a reload
 * would otherwise wait for one memory access per entry.
 */
#define BATCH 32

typedef struct st_pending_t {
    uint64_t hash, parent_hash; /* parent_hash: a name's parent's hash_host(), for the public-suffix check */
    size_t hlen, plen, nlabels; /* nlabels: a name's labels (0: not counted) */
    unsigned flags;
    int suffix, counted;
    char host[GW_RISK_HOST_MAX + 1];
    char path[GW_RISK_PATH_MAX];
} pending_t;

typedef struct st_parse_ctx_t {
    gw_risk_list_t *list;
    gw_risk_report_t *rep;
    size_t line;   /* current line (or item) number */
    int in_remove; /* edits: items of remove[] */
    int nomem;
    size_t npending;
    pending_t *pending; /* BATCH entries */
} parse_ctx_t;

static void
flush(parse_ctx_t *c)
{
    gw_risk_list_t *l = c->list;
    for (size_t i = 0; i != c->npending; ++i) {
        if (c->pending[i].flags & F_URL) {
            if (l->uslots != NULL)
                __builtin_prefetch(&l->uslots[c->pending[i].hash & l->umask]);
        } else {
            __builtin_prefetch(&l->slots[home_slot(c->pending[i].hash, l->cap)]);
            __builtin_prefetch(&l->offs[home_slot(c->pending[i].hash, l->cap)], 1);
        }
    }
    for (size_t i = 0; i != c->npending && !c->nomem; ++i) {
        pending_t *e = &c->pending[i];
        if (e->suffix < 0)
            e->suffix = is_public_suffix(e->host, e->hlen, e->hash, e->parent_hash);
        int rc = list_put(l, e->hash, e->host, e->hlen, e->flags, e->path, e->plen, e->suffix, e->nlabels);
        if (rc < 0)
            c->nomem = 1;
        else if (e->counted)
            ++*(rc == 0 ? &c->rep->duplicates : &c->rep->added);
    }
    c->npending = 0;
}

/* lab: the labels of a name entry as the normaliser hashed them (NULL: hashed here) */
static void
push(parse_ctx_t *c, const char *host, size_t hlen, unsigned flags, const char *path, size_t plen, int suffix, int counted,
     const labels_t *lab)
{
    pending_t *e = &c->pending[c->npending++];
    if (!(flags & (F_URL | F_IP))) {
        /* the labels give the entry's hash and its parent's, which the public-suffix check in flush() needs
         * (suffix < 0: not known yet) */
        labels_t own;
        uint64_t h = 0;
        if (lab == NULL)
            label_hashes(host, hlen, &own), lab = &own;
        for (size_t k = lab->n; k-- > 1;) /* as level_hashes(), the two keys needed only */
            h = fold(h, lab->hash[k]);
        e->parent_hash = lab->n > 1 ? host_key(fmix64(h)) : 0;
        e->hash = host_key(fmix64(fold(h, lab->hash[0]))), e->nlabels = lab->n;
    } else {
        e->hash = entry_hash(host, hlen, flags, path, plen), e->nlabels = 0;
        suffix = 0; /* URLs and addresses are never public suffixes */
    }
    e->hlen = hlen, e->plen = plen, e->flags = flags, e->suffix = suffix, e->counted = counted;
    memcpy(e->host, host, hlen);
    e->host[hlen] = '\0';
    if (plen != 0)
        memcpy(e->path, path, plen);
    if (c->npending == BATCH)
        flush(c);
}

/* copies text into dst as valid UTF-8 of at most GW_RISK_REJECT_TEXT bytes (bad bytes and controls -> '?') */
static void
copy_reject_text(char *dst, const char *text, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o < GW_RISK_REJECT_TEXT;) {
        size_t j = i;
        uint32_t cp;
        if (utf8_next((const unsigned char *)text, len, &j, &cp) != 0 || cp < 0x20 || cp == 0x7f) {
            dst[o++] = '?', ++i;
        } else if (j - i <= GW_RISK_REJECT_TEXT - o) {
            memcpy(dst + o, text + i, j - i);
            o += j - i, i = j;
        } else {
            break;
        }
    }
    dst[o] = '\0';
}

static void
reject(parse_ctx_t *c, const char *text, size_t len)
{
    gw_risk_report_t *rep = c->rep;
    ++rep->rejected;
    if (rep->num_kept < GW_RISK_REJECTS_KEPT) {
        gw_risk_reject_t *k = &rep->kept[rep->num_kept++];
        k->line = c->line, k->in_remove = c->in_remove;
        copy_reject_text(k->text, text, len);
    }
}

/* lab: see push(). An entry's path is kept as a server reads it, as looked-up paths are (gw_url_path_normalize in the
 * gateway's checks): "/%7Emallory/" is "/~mallory/", "/a/../b" is "/b" */
static void
add(parse_ctx_t *c, const char *host, size_t hlen, gw_risk_host_kind_t kind, unsigned flags, const char *path, size_t plen,
    const labels_t *lab)
{
    char norm[GW_RISK_PATH_MAX + 1];
    if (path != NULL && plen != 0 && plen <= GW_RISK_PATH_MAX) {
        plen = gw_url_path_normalize(path, plen, norm);
        path = norm;
    }
    push(c, host, hlen, kind != GW_RISK_HOST_NAME ? flags | F_IP : flags, path, plen, -1, 1, lab);
}

static int
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static void
trim(const char **s, size_t *n)
{
    while (*n != 0 && is_blank(**s))
        ++*s, --*n;
    while (*n != 0 && is_blank((*s)[*n - 1]))
        --*n;
}

static int
has_space_or_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i != n; ++i)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

/*
 * The item of a domains or urls line: the line trimmed of blanks and of a `#` comment (one that starts the item or
 * follows a blank), in one pass (a domains list is a million of them). Returns the item's length (from s + *from), 0
 * for none; *bad: the item holds a blank or a control byte.
 */
static size_t
line_item(const char *s, size_t n, size_t *from, int *bad)
{
    size_t i = 0, first;
    int b = 0;
    while (i != n && is_blank(s[i]))
        ++i;
    for (first = i; i != n; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (!(cclass[c] & C_FORBID) || (c > 0x20 && c != '#' && c != 0x7f))
            continue; /* (C_FORBID: blanks, controls and '#' among others) */
        if (is_blank((char)c)) {
            size_t at = i;
            while (i + 1 != n && is_blank(s[i + 1]))
                ++i;
            if (i + 1 == n || s[i + 1] == '#') { /* blanks at the end, or before a comment */
                *from = first, *bad = b;
                return at - first;
            }
            b = 1; /* a blank inside the item */
        } else if (c == '#') {
            if (i == first)
                break; /* the line is a comment */
        } else {
            b = 1; /* a control byte */
        }
    }
    *from = first, *bad = b;
    return i - first;
}

/* domains: `host` [# comment] */
static void
parse_domains(parse_ctx_t *c, const char *s, size_t n)
{
    const char *line = s;
    size_t len = n, from;
    char host[GW_RISK_HOST_MAX + 1];
    gw_risk_host_kind_t kind;
    labels_t lab;
    int hlen, bad;
    if ((n = line_item(s, n, &from, &bad)) == 0)
        return;
    s += from;
    if (bad || (hlen = normalize(s, n, 0, host, &kind, &lab)) < 0) {
        reject(c, line, len);
        return;
    }
    add(c, host, (size_t)hlen, kind, 0, NULL, 0, &lab);
}

static int
is_boilerplate_host(const char *s, size_t n)
{
    static const char *const names[] = {"localhost",
                                        "localhost.localdomain",
                                        "localhost4",
                                        "localhost4.localdomain4",
                                        "localhost6",
                                        "localhost6.localdomain6",
                                        "local",
                                        "broadcasthost",
                                        "ip6-localhost",
                                        "ip6-loopback",
                                        "ip6-localnet",
                                        "ip6-mcastprefix",
                                        "ip6-allnodes",
                                        "ip6-allrouters",
                                        "ip6-allhosts",
                                        "0.0.0.0",
                                        NULL};
    for (size_t i = 0; names[i] != NULL; ++i)
        if (strlen(names[i]) == n && casecmp_n(names[i], s, n) == 0)
            return 1;
    return 0;
}

/* hosts: `address host [host...]` [# comment]; only sink addresses make block entries */
static void
parse_hosts(parse_ctx_t *c, const char *s, size_t n)
{
    const char *line = s, *tok[64], *hash;
    size_t len = n, tlen[64], nt = 0, real = 0;
    char addr[GW_RISK_HOST_MAX + 1];
    gw_risk_host_kind_t kind;
    int alen;

    trim(&s, &n);
    if ((hash = memchr(s, '#', n)) != NULL)
        n = (size_t)(hash - s);
    trim(&s, &n);
    if (n == 0)
        return;
    for (size_t i = 0; i != n;) {
        size_t j = i;
        while (j != n && !is_blank(s[j]))
            ++j;
        if (nt == sizeof(tok) / sizeof(tok[0]) || has_space_or_ctl(s + i, j - i))
            goto Reject;
        tok[nt] = s + i, tlen[nt++] = j - i;
        while (j != n && is_blank(s[j]))
            ++j;
        i = j;
    }
    if (nt < 2)
        goto Reject;
    for (size_t i = 1; i != nt; ++i) {
        char host[GW_RISK_HOST_MAX + 1];
        gw_risk_host_kind_t hk;
        int hlen = gw_risk_normalize_host(tok[i], tlen[i], 0, host, &hk);
        if (hlen > 0 && is_boilerplate_host(host, (size_t)hlen))
            continue;
        if (hlen < 0 || hk != GW_RISK_HOST_NAME)
            goto Reject;
        ++real;
    }
    if (real == 0) {
        ++c->rep->skipped; /* `127.0.0.1 localhost`, `fe80::1%lo0 localhost`, `ff02::1 ip6-allnodes` */
        return;
    }
    if ((alen = gw_risk_normalize_host(tok[0], tlen[0], 0, addr, &kind)) < 0 || kind == GW_RISK_HOST_NAME)
        goto Reject;
    if (strcmp(addr, "0.0.0.0") != 0 && strcmp(addr, "127.0.0.1") != 0 && strcmp(addr, "::") != 0 && strcmp(addr, "::1") != 0)
        goto Reject; /* maps a real host to an address: not a block entry */
    for (size_t i = 1; i != nt; ++i) {
        char host[GW_RISK_HOST_MAX + 1];
        gw_risk_host_kind_t hk;
        labels_t lab;
        int hlen;
        if ((hlen = normalize(tok[i], tlen[i], 0, host, &hk, &lab)) > 0 && !is_boilerplate_host(host, (size_t)hlen))
            add(c, host, (size_t)hlen, hk, 0, NULL, 0, &lab);
    }
    return;
Reject:
    reject(c, line, len);
}

/* abp options that only narrow the request type or party: ignoring them widens the rule to
 * "any request to this site", which is what a risk list means */
static int
is_ignorable_option(const char *s, size_t n)
{
    static const char *const names[] = {"all",         "doc",        "document",    "popup",  "popunder",       "script",
                                        "image",       "stylesheet", "css",         "xhr",    "xmlhttprequest", "frame",
                                        "subdocument", "font",       "media",       "object", "ping",           "websocket",
                                        "other",       "3p",         "third-party", "1p",     "first-party",    "strict1p",
                                        "strict3p",    "match-case", "important",   NULL};
    const char *eq = memchr(s, '=', n);
    if (n != 0 && s[0] == '~')
        ++s, --n;
    if (eq != NULL)
        return (size_t)(eq - s) == 6 && memcmp(s, "reason", 6) == 0;
    for (size_t i = 0; names[i] != NULL; ++i)
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
            return 1;
    return 0;
}

static int
is_cosmetic(const char *s, size_t n)
{
    for (const char *p = s; (p = memchr(p, '#', (size_t)(s + n - p))) != NULL && p + 1 < s + n; ++p)
        if (p[1] == '#' || p[1] == '@' || p[1] == '?' || p[1] == '$' || p[1] == '%' || p[1] == '+')
            return 1;
    return 0;
}

/* abp: `||host[^|]`, `||host/path[^][|]`, `[$options]`; bare hosts; the rest is skipped */
static void
parse_abp(parse_ctx_t *c, const char *s, size_t n)
{
    const char *line = s, *pat, *opt, *p, *end;
    size_t len = n, hostlen;
    char host[GW_RISK_HOST_MAX + 1];
    gw_risk_host_kind_t kind;
    labels_t lab;
    unsigned flags = 0;
    int hlen, with_options = 0, quoted = 0;

    trim(&s, &n);
    if (n == 0 || s[0] == '!' || s[0] == '[' || (s[0] == '#' && (n == 1 || s[1] == ' ')))
        return;
    if (is_cosmetic(s, n) || (n >= 2 && s[0] == '@' && s[1] == '@'))
        goto Skip;
    if (n < 2 || s[0] != '|' || s[1] != '|') {
        /* uBlock takes a line that is just a host name as `||host^`; other patterns are skipped */
        if ((memchr(s, '.', n) == NULL && memchr(s, ':', n) == NULL) || s[n - 1] == '.' || has_space_or_ctl(s, n))
            goto Skip;
        for (size_t i = 0; i != n; ++i)
            if (strchr("/^*|$=,&?", s[i]) != NULL)
                goto Skip;
        if ((hlen = normalize(s, n, 0, host, &kind, &lab)) < 0)
            goto Reject;
        add(c, host, (size_t)hlen, kind, 0, NULL, 0, &lab);
        return;
    }
    pat = s + 2, end = s + n;
    /* options start at the last '$' outside double quotes (`reason="..."` may hold anything) */
    opt = NULL;
    for (const char *q = pat; q != end; ++q) {
        if (*q == '"' && opt != NULL)
            quoted = !quoted;
        else if (*q == '$' && !quoted)
            opt = q;
    }
    if (opt != NULL) {
        const char *o = opt + 1;
        for (;;) {
            const char *oe = o;
            for (quoted = 0; oe != end && (quoted || *oe != ','); ++oe)
                if (*oe == '"')
                    quoted = !quoted;
            if (!is_ignorable_option(o, (size_t)(oe - o)))
                goto Skip; /* domain=, to=, ipaddress=, redirect=, badfilter, ...: not a plain site rule */
            if (oe == end)
                break;
            o = oe + 1;
        }
        with_options = 1;
        end = opt;
    }
    if (has_space_or_ctl(pat, (size_t)(end - pat)) || memchr(pat, '"', (size_t)(end - pat)) != NULL)
        goto Reject; /* '"' has no place in a host or a URL path (RFC 3986 §2) */
    /* the host: up to ^ / | * or the end ([...] for IPv6) */
    if (pat != end && *pat == '[') {
        const char *rb = memchr(pat, ']', (size_t)(end - pat));
        if (rb == NULL)
            goto Reject;
        p = rb + 1;
    } else {
        for (p = pat; p != end && strchr("^/|*:", *p) == NULL; ++p)
            ;
    }
    hostlen = (size_t)(p - pat);
    if (p != end && (*p == '*' || *p == ':'))
        goto Skip; /* wildcard host, port */
    if (hostlen == 0)
        goto Reject;
    if (p == end && (pat[hostlen - 1] == '.' || pat[hostlen - 1] == '-' || memchr(pat, '.', hostlen) == NULL))
        goto Skip; /* `||name.$doc`, `||name-$doc`, `||name$doc`: a prefix of many host names, not one */
    if ((hlen = normalize(pat, hostlen, 0, host, &kind, &lab)) < 0)
        goto Reject;
    if (p == end || ((size_t)(end - p) == 1 && (*p == '^' || *p == '|')) || ((size_t)(end - p) == 2 && memcmp(p, "^|", 2) == 0)) {
        add(c, host, (size_t)hlen, kind, 0, NULL, 0, &lab);
    } else if (*p == '/') {
        size_t plen;
        if (end[-1] == '|')
            --end;
        if (end[-1] == '^')
            --end, flags |= F_BOUNDARY;
        plen = (size_t)(end - p);
        for (const char *q = p; q != end; ++q)
            if (*q == '*' || *q == '^' || *q == '|')
                goto Skip; /* wildcards and separators inside the path */
        if (plen > GW_RISK_PATH_MAX)
            goto Reject;
        add(c, host, (size_t)hlen, kind, F_URL | F_SUB | flags, p, plen, NULL);
    } else {
        goto Skip;
    }
    if (with_options)
        ++c->rep->options_ignored;
    return;
Skip:
    ++c->rep->skipped;
    return;
Reject:
    reject(c, line, len);
}

/* urls: `[scheme://]host[:port][/path][?query][#fragment]` [# comment] */
static void
parse_urls(parse_ctx_t *c, const char *s, size_t n)
{
    const char *line = s, *auth, *hend, *rest, *end, *frag;
    size_t len = n, i, hostlen;
    char host[GW_RISK_HOST_MAX + 1], path[GW_RISK_PATH_MAX + 1];
    gw_risk_host_kind_t kind;
    size_t plen, from;
    int hlen, bad;

    if ((n = line_item(s, n, &from, &bad)) == 0)
        return;
    s += from;
    if (bad)
        goto Reject;
    end = s + n;
    /* RFC 3986 §3.1 scheme */
    for (i = 0; i != n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                           (i != 0 && ((s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' || s[i] == '.')));
         ++i)
        ;
    auth = i != 0 && n - i >= 3 && memcmp(s + i, "://", 3) == 0 ? s + i + 3 : s;
    for (rest = auth; rest != end && *rest != '/' && *rest != '?' && *rest != '#'; ++rest)
        ;
    if (memchr(auth, '@', (size_t)(rest - auth)) != NULL)
        goto Reject; /* userinfo: a deceptive URL, not a site */
    if (auth != rest && *auth == '[') {
        const char *rb = memchr(auth, ']', (size_t)(rest - auth));
        if (rb == NULL)
            goto Reject;
        hend = rb + 1;
    } else {
        hend = memchr(auth, ':', (size_t)(rest - auth));
        if (hend == NULL)
            hend = rest;
    }
    if (hend != rest) { /* :port */
        unsigned port = 0;
        if (*hend != ':' || rest - hend < 2 || rest - hend > 6)
            goto Reject;
        for (const char *q = hend + 1; q != rest; ++q) {
            if (*q < '0' || *q > '9')
                goto Reject;
            port = port * 10 + (unsigned)(*q - '0');
        }
        if (port > 65535)
            goto Reject;
    }
    hostlen = (size_t)(hend - auth);
    if (hostlen == 0 || (hlen = gw_risk_normalize_host(auth, hostlen, 0, host, &kind)) < 0)
        goto Reject;
    if ((frag = memchr(rest, '#', (size_t)(end - rest))) != NULL)
        end = frag;
    plen = 0;
    if (rest == end || *rest != '/')
        path[plen++] = '/';
    if ((size_t)(end - rest) + plen > GW_RISK_PATH_MAX)
        goto Reject;
    memcpy(path + plen, rest, (size_t)(end - rest));
    plen += (size_t)(end - rest);
    add(c, host, (size_t)hlen, kind, F_URL, path, plen, NULL);
    return;
Reject:
    reject(c, line, len);
}

static void
parse_line(parse_ctx_t *c, const char *s, size_t n)
{
    if (n > GW_RISK_LINE_MAX) {
        reject(c, s, n);
        return;
    }
    switch (c->list->format) {
    case GW_FMT_DOMAINS:
        parse_domains(c, s, n);
        break;
    case GW_FMT_HOSTS:
        parse_hosts(c, s, n);
        break;
    case GW_FMT_ABP:
        parse_abp(c, s, n);
        break;
    case GW_FMT_URLS:
        parse_urls(c, s, n);
        break;
    }
}

/* an add[] / remove[] item: a line of the list's format, and in a hosts list a bare host name too (what the security team
 * types: "evil.example" for "0.0.0.0 evil.example") */
static void
parse_item(parse_ctx_t *c, const char *s, size_t n)
{
    const char *t = s;
    size_t tn = n;
    trim(&t, &tn);
    if (c->list->format == GW_FMT_HOSTS && tn != 0 && tn <= GW_RISK_LINE_MAX - 8 && memchr(t, ' ', tn) == NULL &&
        memchr(t, '\t', tn) == NULL && t[0] != '#') {
        char line[GW_RISK_LINE_MAX];
        memcpy(line, "0.0.0.0 ", 8);
        memcpy(line + 8, t, tn);
        parse_line(c, line, tn + 8);
        return;
    }
    parse_line(c, s, n);
}

/* a comment or blank line of the format (the kept header is made of these) */
static int
is_comment_line(gw_list_format_t format, const char *s, size_t n)
{
    trim(&s, &n);
    if (n == 0)
        return 1;
    if (format == GW_FMT_ABP)
        return s[0] == '!' || s[0] == '[' || (s[0] == '#' && (n == 1 || s[1] == ' '));
    return s[0] == '#';
}

static void
report_reset(gw_risk_report_t *rep)
{
    memset(rep, 0, sizeof(*rep));
}

/* the '\n' bytes of buf[0..len), 8 at a time (one memchr() a line costs more than the bytes do) */
static size_t
count_lines(const char *buf, size_t len)
{
    const uint64_t ones = 0x0101010101010101ull, low7 = 0x7f7f7f7f7f7f7f7full;
    size_t n = 0, i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, buf + i, 8);
        w ^= ones * '\n';                      /* a '\n' byte is now 0 */
        w = ~(((w & low7) + low7) | w | low7); /* 0x80 in each byte that is 0, else 0 */
        n += (w >> 7) * ones >> 56;            /* (the sum of the 0/1 bytes: at most 8) */
    }
    for (; i != len; ++i)
        n += buf[i] == '\n';
    return n;
}

/* a parse under way: its context and whether the leading comment block (the kept header) goes on */
typedef struct st_text_parse_t {
    parse_ctx_t c;
    gw_risk_report_t dummy;
    int in_header;
} text_parse_t;

/* starts a parse of a text of about expect lines; -1 on ENOMEM or a bad name, format or action */
static int
text_begin(text_parse_t *t, const char *name, gw_list_format_t format, gw_risk_action_t action, size_t expect,
           gw_risk_report_t *report)
{
    memset(&t->c, 0, sizeof(t->c));
    t->c.rep = report != NULL ? report : &t->dummy;
    t->in_header = 1;
    report_reset(t->c.rep);
    if ((t->c.pending = malloc(BATCH * sizeof(*t->c.pending))) == NULL)
        return -1;
    if ((t->c.list = list_new(name, format, action, expect)) == NULL) {
        free(t->c.pending);
        return -1;
    }
    return 0;
}

/* one line s[0..raw) of the text, without its '\n' (with its '\r', if any) */
static void
text_line(text_parse_t *t, const char *s, size_t raw)
{
    parse_ctx_t *c = &t->c;
    size_t n = raw != 0 && s[raw - 1] == '\r' ? raw - 1 : raw;
    ++c->line;
    if (t->in_header && is_comment_line(c->list->format, s, n) && n <= GW_RISK_LINE_MAX) {
        char *h; /* kept with its CR, if any, so that it reads back the same */
        if (c->list->header_len + raw + 1 <= HEADER_MAX && (h = realloc(c->list->header, c->list->header_len + raw + 1)) != NULL) {
            memcpy(h + c->list->header_len, s, raw);
            h[c->list->header_len + raw] = '\n';
            c->list->header = h, c->list->header_len += raw + 1;
            return;
        }
    }
    t->in_header = 0;
    parse_line(c, s, n);
}

/* the lines of buf[0..len): each ends at a '\n', the last one at len (none when len is 0) */
static void
text_lines(text_parse_t *t, const char *buf, size_t len)
{
    for (size_t pos = 0; pos < len && !t->c.nomem;) {
        const char *s = buf + pos, *nl = memchr(s, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - s) : len - pos;
        pos += n + 1;
        text_line(t, s, n);
    }
}

/* ends a parse: the list (the report filled), or NULL on ENOMEM */
static gw_risk_list_t *
text_end(text_parse_t *t)
{
    parse_ctx_t *c = &t->c;
    flush(c);
    free(c->pending);
    c->rep->lines = c->line;
    if (c->nomem || list_finish(c->list) != 0) {
        gw_risk_list_free(c->list);
        return NULL;
    }
    c->rep->entries = c->list->count;
    return c->list;
}

static int
has_bom(const char *buf, size_t len)
{
    return len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0;
}

gw_risk_list_t *
gw_risk_list_parse(const char *name, gw_list_format_t format, gw_risk_action_t action, const char *buf, size_t len,
                   gw_risk_report_t *report)
{
    text_parse_t t;
    if (buf == NULL)
        len = 0;
    if (text_begin(&t, name, format, action, count_lines(buf, len) + 1, report) != 0)
        return NULL;
    size_t pos = has_bom(buf, len) ? 3 : 0;
    text_lines(&t, buf + pos, len - pos);
    return text_end(&t);
}

/* ---- edits, serialisation, info ------------------------------------------------------------ */

static int
copy_header(gw_risk_list_t *dst, const gw_risk_list_t *src)
{
    if (src->header_len == 0)
        return 0;
    if ((dst->header = malloc(src->header_len)) == NULL)
        return -1;
    memcpy(dst->header, src->header, src->header_len);
    dst->header_len = src->header_len;
    return 0;
}

static int
item_ok(parse_ctx_t *c, const gw_risk_str_t *it)
{
    if (it->base == NULL || memchr(it->base, '\n', it->len) != NULL || memchr(it->base, '\r', it->len) != NULL) {
        reject(c, it->base != NULL ? it->base : "", it->base != NULL ? it->len : 0);
        return 0;
    }
    return 1;
}

gw_risk_list_t *
gw_risk_list_edit(const gw_risk_list_t *old, const gw_risk_str_t *add_items, size_t nadd, const gw_risk_str_t *remove,
                  size_t nremove, gw_risk_report_t *report)
{
    gw_risk_report_t dummy;
    parse_ctx_t c = {NULL, report != NULL ? report : &dummy, 0, 1, 0, 0, NULL};
    gw_risk_list_t *rm = NULL, *nl = NULL;

    report_reset(c.rep);
    if (old == NULL || (c.pending = malloc(BATCH * sizeof(*c.pending))) == NULL)
        return NULL;
    /* remove[] items, parsed in the list's format into a scratch list */
    if ((rm = list_new(old->name, old->format, old->action, nremove)) == NULL)
        goto NoMem;
    c.list = rm;
    for (size_t i = 0; i != nremove; ++i) {
        c.line = i + 1;
        if (item_ok(&c, &remove[i]))
            parse_item(&c, remove[i].base, remove[i].len);
    }
    flush(&c);
    if (c.nomem)
        goto NoMem;
    /* old entries minus the removed ones */
    if ((nl = list_new(old->name, old->format, old->action, old->count + nadd)) == NULL || copy_header(nl, old) != 0)
        goto NoMem;
    c.list = nl;
    for (size_t off = 1; off < old->arena_len; off += rec_size(old->arena + off)) {
        const uint8_t *r = old->arena + off;
        uint8_t *hit =
            rm->count == 0 ? NULL : table_find(rm, rec_hash(r), rec_host(r), rec_hlen(r), r[1], rec_path(r), rec_plen(r));
        if (hit != NULL) {
            hit[1] |= F_MARK;
            ++c.rep->removed;
            continue;
        }
        push(&c, rec_host(r), rec_hlen(r), r[1], rec_path(r), rec_plen(r), (r[1] & F_SUFFIX) != 0, 0, NULL);
    }
    for (size_t off = 1; off < rm->arena_len; off += rec_size(rm->arena + off)) {
        const uint8_t *r = rm->arena + off;
        if ((r[1] & F_MARK) != 0)
            continue;
        if (c.rep->num_not_found_kept != GW_RISK_REJECTS_KEPT) { /* named, so the security team sees which */
            char *t = c.rep->not_found_kept[c.rep->num_not_found_kept++];
            size_t hl = rec_hlen(r) < GW_RISK_REJECT_TEXT ? rec_hlen(r) : GW_RISK_REJECT_TEXT;
            size_t pl = rec_plen(r) < GW_RISK_REJECT_TEXT - hl ? rec_plen(r) : GW_RISK_REJECT_TEXT - hl;
            memcpy(t, rec_host(r), hl);
            memcpy(t + hl, rec_path(r), pl);
            t[hl + pl] = '\0';
        }
        ++c.rep->not_found;
    }
    /* the scratch parse counted remove[] items as "added": only rejections and lines count */
    c.rep->added = 0, c.rep->duplicates = 0, c.rep->options_ignored = 0;
    /* add[] items */
    c.in_remove = 0;
    for (size_t i = 0; i != nadd; ++i) {
        c.line = i + 1;
        if (item_ok(&c, &add_items[i]))
            parse_item(&c, add_items[i].base, add_items[i].len);
    }
    flush(&c);
    if (c.nomem)
        goto NoMem;
    free(c.pending);
    c.pending = NULL;
    if (list_finish(nl) != 0)
        goto NoMem;
    gw_risk_list_free(rm);
    c.rep->lines = nadd + nremove;
    c.rep->entries = nl->count;
    return nl;
NoMem:
    free(c.pending);
    gw_risk_list_free(rm);
    gw_risk_list_free(nl);
    return NULL;
}

typedef struct st_outbuf_t {
    char *p;
    size_t len, cap;
    int nomem;
} outbuf_t;

static void
out_add(outbuf_t *o, const char *s, size_t n)
{
    if (o->nomem)
        return;
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap * 2 > o->len + n + 1 ? o->cap * 2 : o->len + n + 1;
        char *p = realloc(o->p, cap);
        if (p == NULL) {
            o->nomem = 1;
            return;
        }
        o->p = p, o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void
out_str(outbuf_t *o, const char *s)
{
    out_add(o, s, strlen(s));
}

/* host as it is written in a URL: IPv6 in brackets */
static void
out_url_host(outbuf_t *o, const uint8_t *r)
{
    int v6 = (r[1] & F_IP) && memchr(rec_host(r), ':', rec_hlen(r)) != NULL;
    if (v6)
        out_str(o, "[");
    out_add(o, rec_host(r), rec_hlen(r));
    if (v6)
        out_str(o, "]");
}

/* one entry as a line of its list's format, without the newline */
static void
out_entry(outbuf_t *o, gw_list_format_t format, const uint8_t *r)
{
    switch (format) {
    case GW_FMT_DOMAINS:
        out_add(o, rec_host(r), rec_hlen(r));
        break;
    case GW_FMT_HOSTS:
        out_str(o, "0.0.0.0 ");
        out_add(o, rec_host(r), rec_hlen(r));
        break;
    case GW_FMT_ABP:
        out_str(o, "||");
        out_url_host(o, r);
        if (r[1] & F_URL) {
            out_add(o, rec_path(r), rec_plen(r));
            if (r[1] & F_BOUNDARY)
                out_str(o, "^");
            if (memchr(rec_path(r), '$', rec_plen(r)) != NULL)
                out_str(o, "$all"); /* so that the path's '$' is not read as the options' start */
        } else {
            out_str(o, "^");
        }
        break;
    case GW_FMT_URLS:
        out_url_host(o, r);
        out_add(o, rec_path(r), rec_plen(r));
        break;
    }
}

char *
gw_risk_list_serialize(const gw_risk_list_t *list, size_t *len)
{
    outbuf_t o = {NULL, 0, 0, 0};
    out_add(&o, "", 0);
    if (list->header_len != 0)
        out_add(&o, list->header, list->header_len);
    for (size_t off = 1; off < list->arena_len; off += rec_size(list->arena + off)) {
        out_entry(&o, list->format, list->arena + off);
        out_str(&o, "\n");
    }
    if (o.nomem) {
        free(o.p);
        return NULL;
    }
    if (len != NULL)
        *len = o.len;
    return o.p;
}

/* the entry of l (a finished list: its URL entries are in host groups) equal to the record r of another list, or NULL */
static const uint8_t *
finished_find(const gw_risk_list_t *l, const uint8_t *r)
{
    if (l->count == 0)
        return NULL;
    if (!(r[1] & F_URL))
        return table_find(l, rec_hash(r), rec_host(r), rec_hlen(r), r[1], rec_path(r), rec_plen(r));
    uint64_t h = hash_host(rec_host(r), rec_hlen(r));
    for (size_t i = home_slot(h, l->cap);; i = i + 1 != l->cap ? i + 1 : 0) {
        uint64_t s = l->slots[i];
        if (s == 0)
            return NULL;
        if ((s & KEY_MASK) != h || !(s & SLOT_GROUP))
            continue;
        const uint8_t *g = l->groups + (l->offs[i] & OFF_MASK);
        if (g[0] != rec_hlen(r) || memcmp(g + 8, rec_host(r), g[0]) != 0)
            continue;
        uint32_t n;
        memcpy(&n, g + 4, 4);
        const uint32_t *ent = (const uint32_t *)(g + group_host_off(g[0]));
        size_t lo = 0, hi = n;
        while (lo < hi) { /* the first entry >= r's path (entries are sorted by path) */
            size_t mid = (lo + hi) / 2;
            const uint8_t *e = l->arena + ent[mid];
            if (pathcmp(rec_path(e), rec_plen(e), rec_path(r), rec_plen(r)) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (; lo != n; ++lo) {
            const uint8_t *e = l->arena + ent[lo];
            if (pathcmp(rec_path(e), rec_plen(e), rec_path(r), rec_plen(r)) != 0)
                break;
            if ((e[1] & KEY_FLAGS) == (r[1] & KEY_FLAGS))
                return e;
        }
        return NULL;
    }
}

/* r, an entry of a, counted as added (side 0) or removed (side 1), and kept as a line of a's format while there is room */
static void
diff_count(gw_risk_report_t *rep, int side, const gw_risk_list_t *a, const uint8_t *r, outbuf_t *o)
{
    char *text = rep->diff_text[side];
    size_t *len = &rep->diff_len[side];
    ++*(side == 0 ? &rep->added : &rep->removed);
    if (rep->diff_kept[side] == GW_RISK_DIFF_KEPT)
        return;
    o->len = 0;
    out_entry(o, a->format, r);
    if (o->nomem || *len + o->len + 1 > GW_RISK_DIFF_TEXT)
        return;
    memcpy(text + *len, o->p, o->len);
    text[*len + o->len] = '\n';
    *len += o->len + 1;
    ++rep->diff_kept[side];
}

/* a host entry's key with its halves swapped: in the order of these, keys go by their low 32 bits first, the order of
 * their home slots (the swap is its own inverse) */
static uint64_t
key_swap(uint64_t k)
{
    return k << 32 | k >> 32;
}

/*
 * The host entries of l as key_swap()ed keys in order, a chunk of the table at a time, without a copy of the table or a
 * sort of n log n: the table holds them in home-slot order already, but for linear probing's few slots of displacement,
 * which never cross an empty slot, and the cluster that wraps from the table's end to its start. A chunk is some
 * thousand slots up to an empty one, sorted on its own by insertion (a few KB, in the nearest caches); the entries of
 * the first run (before the first empty slot) whose home is before the table's end go with the last chunk.
 */
#define WALK_CHUNK 4096

typedef struct st_key_walk_t {
    const gw_risk_list_t *l;
    size_t pos;       /* the next chunk's first slot */
    size_t first_run; /* the slots before the first empty one */
    uint64_t *keys;   /* the chunk's keys in order: [at, n) are still to come */
    size_t at, n, cap;
    int nomem;
} key_walk_t;

static void
key_walk_init(key_walk_t *w, const gw_risk_list_t *l)
{
    memset(w, 0, sizeof(*w));
    w->l = l;
    if (l->slots == NULL || l->hosts + l->ips == 0) {
        w->pos = w->first_run = l->cap; /* nothing to walk */
        return;
    }
    while (w->first_run != l->cap && l->slots[w->first_run] != 0)
        ++w->first_run;
}

/* appends the host entries of slots [from, to) to w->keys, those of the first run only when wrapped is their home being
 * after them (1) or not (0) */
static int
key_walk_take(key_walk_t *w, size_t from, size_t to, int wrapped)
{
    const gw_risk_list_t *l = w->l;
    for (size_t i = from; i != to; ++i) {
        uint64_t s = l->slots[i];
        if (s == 0 || (s & SLOT_GROUP) || (i < w->first_run && (home_slot(s & KEY_MASK, l->cap) > i) != wrapped))
            continue;
        if (w->n == w->cap) {
            size_t cap = w->cap != 0 ? w->cap * 2 : WALK_CHUNK;
            uint64_t *k = realloc(w->keys, cap * sizeof(*k));
            if (k == NULL)
                return -1;
            w->keys = k, w->cap = cap;
        }
        w->keys[w->n++] = key_swap(s & KEY_MASK);
    }
    return 0;
}

/* the next key in order (NULL at the end, or out of memory: w->nomem) */
static const uint64_t *
key_walk_peek(key_walk_t *w)
{
    const gw_risk_list_t *l = w->l;
    if (w->at != w->n)
        return &w->keys[w->at];
    w->at = w->n = 0;
    while (w->n == 0 && w->pos != l->cap) {
        size_t from = w->pos, to = from + WALK_CHUNK < l->cap ? from + WALK_CHUNK : l->cap;
        while (to != l->cap && l->slots[to] != 0) /* a chunk ends at an empty slot: no cluster is cut */
            ++to;
        w->pos = to;
        if (key_walk_take(w, from, to, 0) != 0 || (to == l->cap && key_walk_take(w, 0, w->first_run, 1) != 0)) {
            w->nomem = 1, w->n = 0;
            return NULL;
        }
        for (size_t i = 1; i < w->n; ++i) { /* entries are at most a cluster away from their place */
            uint64_t e = w->keys[i];
            size_t j = i;
            for (; j != 0 && e < w->keys[j - 1]; --j)
                w->keys[j] = w->keys[j - 1];
            w->keys[j] = e;
        }
    }
    return w->n != 0 ? &w->keys[0] : NULL;
}

/* the keys equal to *k from k on (all in the chunk: one key, one home, one cluster) */
static size_t
key_walk_run(const key_walk_t *w, const uint64_t *k)
{
    size_t n = 1;
    while (k + n != w->keys + w->n && k[n] == *k)
        ++n;
    return n;
}

/* the record of the nth host entry of l with this key (nth: 0 but for two hosts of one key) */
static const uint8_t *
host_record(const gw_risk_list_t *l, uint64_t key, size_t nth)
{
    for (size_t i = home_slot(key, l->cap);; i = i + 1 != l->cap ? i + 1 : 0) {
        uint64_t s = l->slots[i];
        if (s == 0)
            return NULL;
        if ((s & KEY_MASK) == key && !(s & SLOT_GROUP) && nth-- == 0)
            return l->arena + (l->offs[i] & OFF_MASK);
    }
}

/* diff_count() of the nth host entry of l with the swapped key k, its record looked up only while lines are kept (the
 * keys come in table order: those lookups walk the table) */
static void
diff_count_key(gw_risk_report_t *rep, int side, const gw_risk_list_t *l, uint64_t k, size_t nth, outbuf_t *o)
{
    const uint8_t *r;
    if (rep->diff_kept[side] == GW_RISK_DIFF_KEPT || rep->diff_len[side] + 2 > GW_RISK_DIFF_TEXT ||
        (r = host_record(l, key_swap(k), nth)) == NULL)
        ++*(side == 0 ? &rep->added : &rep->removed); /* (no line fits any more) */
    else
        diff_count(rep, side, l, r, o);
}

/*
 * The host entries old has and next has not, and the reverse: both lists' keys in order, merged (two sequential
 * walks, no record read but for the lines kept). 0, or -1 when out of memory (nothing counted then).
 */
static int
diff_hosts(const gw_risk_list_t *old, const gw_risk_list_t *next, gw_risk_report_t *rep, outbuf_t *o)
{
    gw_risk_report_t before = *rep;
    key_walk_t a, b;
    const uint64_t *x, *y;
    key_walk_init(&a, old);
    key_walk_init(&b, next);
    for (;;) {
        x = key_walk_peek(&a), y = key_walk_peek(&b);
        if (a.nomem || b.nomem || (x == NULL && y == NULL))
            break;
        if (x != NULL && y != NULL) { /* the two chunks as far as the shorter goes, without a call a key */
            const uint64_t *xe = a.keys + a.n, *ye = b.keys + b.n;
            while (x != xe && y != ye && *x != *y) {
                if (*x < *y)
                    diff_count_key(rep, 1, old, *x++, 0, o);
                else
                    diff_count_key(rep, 0, next, *y++, 0, o);
            }
            a.at = (size_t)(x - a.keys), b.at = (size_t)(y - b.keys);
            if (x == xe || y == ye)
                continue;
        }
        if (y == NULL) {
            diff_count_key(rep, 1, old, *x, 0, o), ++a.at;
        } else if (x == NULL) {
            diff_count_key(rep, 0, next, *y, 0, o), ++b.at;
        } else { /* one key on both sides: one host (two hosts of one 62-bit hash are taken as one: a chance of about
                  * one in 10^13 for each entry of a 1M-entry list, for a count in the audit log) */
            size_t na = key_walk_run(&a, x), nb = key_walk_run(&b, y);
            for (size_t k = 0; na > nb + k; ++k) /* (never in practice: a key twice in one list) */
                diff_count_key(rep, 1, old, *x, k, o);
            for (size_t k = 0; nb > na + k; ++k)
                diff_count_key(rep, 0, next, *y, k, o);
            a.at += na, b.at += nb;
        }
    }
    free(a.keys);
    free(b.keys);
    if (a.nomem || b.nomem) {
        *rep = before; /* nothing counted: the caller looks every entry up instead */
        return -1;
    }
    return 0;
}

/* the entries of a (its URL entries only, or all of them) that b lacks, found by a lookup of each in b: counted into rep
 * as side, and the first kept */
static void
diff_lookup(gw_risk_report_t *rep, int side, const gw_risk_list_t *a, const gw_risk_list_t *b, int urls_only, outbuf_t *o)
{
    for (size_t off = 1; (!urls_only || a->urls != 0) && off < a->arena_len; off += rec_size(a->arena + off)) {
        const uint8_t *r = a->arena + off;
        if ((!urls_only || (r[1] & F_URL)) && finished_find(b, r) == NULL)
            diff_count(rep, side, a, r, o);
    }
}

void
gw_risk_list_diff(const gw_risk_list_t *old, const gw_risk_list_t *next, gw_risk_report_t *rep)
{
    outbuf_t o = {NULL, 0, 0, 0};
    rep->added = rep->removed = 0;
    rep->diff_kept[0] = rep->diff_kept[1] = rep->diff_len[0] = rep->diff_len[1] = 0;
    /* (out of memory for the keys, before counting any: a lookup of every entry in the other list instead) */
    int urls_only = diff_hosts(old, next, rep, &o) == 0;
    diff_lookup(rep, 0, next, old, urls_only, &o);
    diff_lookup(rep, 1, old, next, urls_only, &o);
    free(o.p);
}

void
gw_risk_list_info(const gw_risk_list_t *list, gw_risk_list_info_t *info)
{
    memset(info, 0, sizeof(*info));
    info->name = list->name;
    info->format = list->format;
    info->action = list->action;
    info->entries = list->count;
    info->hosts = list->hosts;
    info->ips = list->ips;
    info->urls = list->urls;
    info->suffix_entries = list->suffixes;
    info->version = list->version;
    info->updated_at_ms = list->updated_at_ms;
    info->memory_bytes = sizeof(*list) + list->cap * (sizeof(*list->slots) + sizeof(*list->offs)) + list->arena_cap +
                         list->groups_len + list->header_len + strlen(list->name) + 1 +
                         (list->filter != NULL ? (list->filter_mask + 1) * 8 * sizeof(*list->filter) : 0);
}

void
gw_risk_list_free(gw_risk_list_t *list)
{
    if (list == NULL)
        return;
    free(list->name);
    big_free(list->slots, list->cap * sizeof(*list->slots));
    big_free(list->offs, list->cap * sizeof(*list->offs));
    big_free(list->uslots, (list->umask + 1) * sizeof(*list->uslots));
    free(list->groups);
    big_free(list->filter, (list->filter_mask + 1) * 8 * sizeof(*list->filter));
    big_free(list->arena, list->arena_cap);
    free(list->header);
    free(list);
}

const char *
gw_risk_format_name(gw_list_format_t format)
{
    static const char *const names[] = {"domains", "hosts", "abp", "urls"};
    return (unsigned)format < 4 ? names[format] : "?";
}

const char *
gw_risk_action_name(gw_risk_action_t action)
{
    static const char *const names[] = {"block", "warn", "monitor", "allow"};
    return (unsigned)action < 4 ? names[action] : "?";
}

/* ---- files ------------------------------------------------------------------------------------ */

static void
set_err(char *err, size_t errlen, const char *path, const char *reason)
{
    if (err != NULL && errlen != 0)
        snprintf(err, errlen, "%s: %s", path, reason);
}

/*
 * A list file is read twice through one buffer of READ_CHUNK bytes, never whole: once to count its lines (the table's
 * size), once to parse them. The buffer stays in the caches and a reload maps no fresh memory for the text (16 MB
 * at 1M domains: 4,000 page faults, each a trap on a VM, and the zeroing of their pages); reading from the page
 * cache twice costs less. A line longer than the buffer is rejected (it is far over GW_RISK_LINE_MAX) from the text
 * the buffer holds of it.
 */
#define READ_CHUNK ((size_t)256 * 1024)

/* reads up to cap bytes into buf; the bytes read (0 at the end of the file), or -1 with errno */
static ssize_t
read_some(int fd, char *buf, size_t cap)
{
    for (;;) {
        ssize_t r = read(fd, buf, cap);
        if (r >= 0 || errno != EINTR)
            return r;
    }
}

/* the lines of the file open as fd (positioned at its start), and its size in *size; -1 with errno */
static int
file_lines(int fd, char *buf, size_t *lines, size_t *size)
{
    ssize_t r;
    *lines = 0, *size = 0;
    while ((r = read_some(fd, buf, READ_CHUNK)) > 0) {
        *lines += count_lines(buf, (size_t)r);
        if ((*size += (size_t)r) > GW_RISK_FILE_MAX)
            return 0;
    }
    return r < 0 ? -1 : 0;
}

/* parses the file open as fd (positioned at its start) into t; -1 with errno, or with errno EFBIG when it is too large */
static int
file_parse(int fd, char *buf, text_parse_t *t)
{
    size_t have = 0, total = 0;
    int first = 1, skip = 0; /* skip: the rest of a line too long for the buffer */
    for (;;) {
        ssize_t r = read_some(fd, buf + have, READ_CHUNK - have);
        size_t from = 0;
        if (r < 0)
            return -1;
        if ((total += (size_t)r) > GW_RISK_FILE_MAX) {
            errno = EFBIG;
            return -1;
        }
        have += (size_t)r;
        if (first && (have >= 3 || r == 0)) { /* a BOM starts the text only */
            from = has_bom(buf, have) ? 3 : 0;
            first = 0;
        } else if (first) {
            continue;
        }
        if (skip) { /* up to the end of the long line */
            const char *nl = memchr(buf + from, '\n', have - from);
            if (nl == NULL) {
                have = 0;
                if (r == 0)
                    return 0;
                continue;
            }
            from = (size_t)(nl + 1 - buf), skip = 0;
        }
        if (r == 0) { /* the end: the last line has no '\n' */
            text_lines(t, buf + from, have - from);
            return 0;
        }
        const char *last = memrchr(buf + from, '\n', have - from);
        if (last != NULL) {
            size_t done = (size_t)(last + 1 - buf);
            text_lines(t, buf + from, done - from);
            from = done;
        } else if (have == READ_CHUNK && from == 0) { /* a line longer than the buffer */
            text_line(t, buf, have);
            from = have, skip = 1;
        }
        memmove(buf, buf + from, have - from);
        have -= from;
        if (t->c.nomem)
            return 0;
    }
}

/* a parse result that must not replace a list: lines were rejected and nothing was left */
static int
is_suspect(const gw_risk_report_t *rep)
{
    return rep->entries == 0 && rep->rejected != 0;
}

int
gw_risk_list_load_file(const char *path, const char *name, gw_list_format_t format, gw_risk_action_t action, gw_risk_list_t **out,
                       gw_risk_report_t *report, char *err, size_t errlen)
{
    gw_risk_report_t dummy;
    struct stat st;
    text_parse_t t;
    size_t lines, size;
    char *buf = NULL;
    int fd;

    *out = NULL;
    if (report == NULL)
        report = &dummy;
    report_reset(report);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
        set_err(err, errlen, path, strerror(errno));
        goto Error;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > GW_RISK_FILE_MAX) {
        set_err(err, errlen, path, S_ISREG(st.st_mode) ? "file too large" : "not a regular file");
        goto Error;
    }
    if ((buf = malloc(READ_CHUNK)) == NULL) {
        set_err(err, errlen, path, strerror(ENOMEM));
        goto Error;
    }
    if (file_lines(fd, buf, &lines, &size) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
        set_err(err, errlen, path, strerror(errno));
        goto Error;
    }
    if (size > GW_RISK_FILE_MAX) { /* (it grew) */
        set_err(err, errlen, path, "file too large");
        goto Error;
    }
    if (text_begin(&t, name, format, action, lines + 1, report) != 0) {
        set_err(err, errlen, path, strerror(ENOMEM));
        goto Error;
    }
    if (file_parse(fd, buf, &t) != 0) {
        set_err(err, errlen, path, errno == EFBIG ? "file too large" : strerror(errno));
        gw_risk_list_free(text_end(&t));
        goto Error;
    }
    close(fd);
    free(buf);
    if ((*out = text_end(&t)) == NULL) {
        set_err(err, errlen, path, strerror(ENOMEM));
        return -1;
    }
    if (is_suspect(report)) {
        char msg[64];
        snprintf(msg, sizeof(msg), "no valid entry (%zu rejected lines)", report->rejected);
        set_err(err, errlen, path, msg);
        gw_risk_list_free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
Error:
    if (fd >= 0)
        close(fd);
    free(buf);
    return -1;
}

int
gw_risk_file_write(const char *path, const char *buf, size_t len, char *err, size_t errlen)
{
    const char *slash;
    char dir[4096], tmp[4096 + 32], target[PATH_MAX];
    struct stat st;
    mode_t mode = 0644;
    size_t done = 0;
    int fd = -1, dfd;

    /* a link is followed to the file it names: renaming over the link would turn it into a file of its own */
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        if (realpath(path, target) == NULL) {
            snprintf(err, errlen, "%s: a symbolic link to a file that cannot be reached: %s", path, strerror(errno));
            return -1;
        }
        path = target;
    }
    slash = strrchr(path, '/');
    if (slash == NULL)
        strcpy(dir, ".");
    else if ((size_t)(slash - path) + 1 > sizeof(dir) - 1)
        goto TooLong;
    else
        snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, slash ? slash + 1 : path) >= sizeof(tmp))
        goto TooLong;
    if (stat(path, &st) == 0)
        mode = st.st_mode & 07777;
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        set_err(err, errlen, path, strerror(errno));
        return -1;
    }
    if (fchmod(fd, mode) != 0)
        goto Error;
    while (done < len) {
        ssize_t w = write(fd, buf + done, len - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            goto Error;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0)
        goto Error;
    if (close(fd) != 0) {
        fd = -1;
        goto Error;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto Error;
    if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        int rc = fsync(dfd);
        close(dfd);
        if (rc != 0) { /* the new file is in place: only the rename's durability is in doubt */
            set_err(err, errlen, path, "written, but the folder's fsync failed: the change may not survive a crash");
            return 1;
        }
    }
    return 0;
Error:
    set_err(err, errlen, path, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -1;
TooLong:
    set_err(err, errlen, path, "path too long");
    return -1;
}

/* ---- sets and lookups ---------------------------------------------------------------------- */

static int
action_rank(gw_risk_action_t a)
{
    switch (a) {
    case GW_RISK_ALLOW:
        return 0;
    case GW_RISK_BLOCK:
        return 1;
    case GW_RISK_WARN:
        return 2;
    default:
        return 3;
    }
}

static void
set_order(gw_risk_set_t *s)
{
    size_t k = 0;
    for (int rank = 0; rank != 4; ++rank)
        for (size_t i = 0; i != s->n; ++i)
            if (action_rank(s->lists[i]->action) == rank)
                s->order[k++] = (uint8_t)i;
}

/* what a set derives from its lists: the order of precedence and the small lists' filter */
static void
set_index(gw_risk_set_t *s)
{
    set_order(s);
    small_build(s);
}

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

gw_risk_set_t *
gw_risk_set_new(gw_risk_list_t *const *lists, size_t n)
{
    gw_risk_set_t *s;
    if (n > GW_RISK_MAX_LISTS)
        return NULL;
    for (size_t i = 0; i != n; ++i) {
        if (lists[i] == NULL)
            return NULL;
        for (size_t j = 0; j != i; ++j)
            if (lists[j] == lists[i] || strcmp(lists[j]->name, lists[i]->name) == 0)
                return NULL;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return NULL;
    s->n = n;
    for (size_t i = 0; i != n; ++i) {
        s->lists[i] = lists[i];
        __atomic_add_fetch(&lists[i]->refs, 1, __ATOMIC_RELAXED);
        if (lists[i]->version == 0)
            lists[i]->version = 1, lists[i]->updated_at_ms = now_ms();
    }
    set_index(s);
    return s;
}

void
gw_risk_set_free(gw_risk_set_t *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i != set->n; ++i)
        if (__atomic_sub_fetch(&set->lists[i]->refs, 1, __ATOMIC_ACQ_REL) == 0)
            gw_risk_list_free(set->lists[i]);
    free(set->small);
    free(set);
}

size_t
gw_risk_set_size(const gw_risk_set_t *set)
{
    return set != NULL ? set->n : 0;
}

const gw_risk_list_t *
gw_risk_set_list(const gw_risk_set_t *set, size_t i)
{
    return set != NULL && i < set->n ? set->lists[i] : NULL;
}

const gw_risk_list_t *
gw_risk_set_find(const gw_risk_set_t *set, const char *name, size_t *index)
{
    for (size_t i = 0; set != NULL && name != NULL && i != set->n; ++i) {
        if (strcmp(set->lists[i]->name, name) == 0) {
            if (index != NULL)
                *index = i;
            return set->lists[i];
        }
    }
    return NULL;
}

/*
 * Fills out from the first entry of list li matching name[0..len) of key h (exact: the whole
 * host, else a parent) and path; 1 when one matches. A host entry matches on its key alone
 * (see the top of this file) and the verdict names it with the looked-up name, which is
 * its text; a URL group then compares its paths.
 */
static int
probe(const gw_risk_set_t *set, size_t li, uint64_t h, const char *name, size_t len, int exact, const char *path, size_t path_len,
      gw_risk_verdict_t *out)
{
    const gw_risk_list_t *l = set->lists[li];
    for (size_t i = home_slot(h, l->cap);; i = i + 1 != l->cap ? i + 1 : 0) {
        uint64_t s = l->slots[i];
        if (s == 0)
            return 0;
        if ((s & KEY_MASK) != h)
            continue;
        if (s & SLOT_GROUP) {
            const uint8_t *r = group_match(l, l->groups + (l->offs[i] & OFF_MASK), exact, path, path_len);
            if (r == NULL)
                continue;
            out->matched = rec_host(r);
            out->matched_len = rec_hlen(r) + rec_plen(r);
        } else {
            memcpy(out->matched_name, name, len);
            out->matched_name[len] = '\0';
            out->matched = out->matched_name;
            out->matched_len = len;
            out->matched_is_suffix = (s & SLOT_SUFFIX) != 0;
        }
        out->listed = 1;
        out->action = l->action;
        out->list_index = li;
        out->list = l->name;
        return 1;
    }
}

int
gw_risk_check(const gw_risk_set_t *set, const char *host, size_t len, const char *path, size_t path_len, gw_risk_verdict_t *out)
{
    char buf[GW_RISK_HOST_MAX + 1];
    uint64_t hs[MAX_LABELS];
    gw_risk_host_kind_t kind;
    labels_t lab;
    size_t nlev;
    int n;

    memset(out, 0, offsetof(gw_risk_verdict_t, matched_name)); /* (the name is written when one matches) */
    out->matched_name[0] = '\0';
    if ((n = normalize(host, len, GW_RISK_NORM_LOOKUP, buf, &kind, &lab)) < 0)
        return -1;
    if (set == NULL || set->n == 0)
        return 0;
    if (path == NULL || path_len == 0)
        path = "/", path_len = 1;
    level_hashes(&lab, hs);
    nlev = kind == GW_RISK_HOST_NAME ? lab.n : 1; /* an address has no parent */
    /* lens: for a name, bit min(labels, 63) of each level, so a list skips the levels no entry of its is as long as
     * (the top-level domain, mostly); for an address bit 0, so only lists with addresses are probed */
    uint64_t lens[MAX_LABELS];
    uint8_t small[MAX_LABELS]; /* the level may be in a small list (see small_build) */
    for (size_t lev = 0; lev != nlev; ++lev) {
        lens[lev] = kind != GW_RISK_HOST_NAME ? 1 : 1ull << (lab.n - lev < 63 ? lab.n - lev : 63);
        small[lev] = set->small == NULL || small_may_hold(set, hs[lev]);
    }
    /* a level is looked for in a list that has entries of its length and, for a small list, when the set's filter
     * lets it through (a list with a filter of its own asks that, below) */
#define CANDIDATE(l, lev) (((l)->label_counts & lens[lev]) != 0 && ((l)->filter != NULL || small[lev]))
    /* the memory this lookup may need, requested at once: filter blocks and slots of every candidate level and list
     * (a listed host waits for one round trip, a clean host for the filter only) */
    for (size_t k = 0; k != set->n; ++k) {
        const gw_risk_list_t *l = set->lists[k];
        uint32_t key;
        for (size_t lev = 0; lev != nlev; ++lev) {
            if (!CANDIDATE(l, lev))
                continue;
            if (l->filter != NULL)
                __builtin_prefetch(filter_block(l, hs[lev], &key));
            __builtin_prefetch(&l->slots[home_slot(hs[lev], l->cap)]);
        }
    }
    for (size_t k = 0; k != set->n; ++k) {
        size_t li = set->order[k];
        const gw_risk_list_t *l = set->lists[li];
        for (size_t lev = 0; lev != nlev && l->count != 0; ++lev)
            if (CANDIDATE(l, lev) && filter_may_hold(l, hs[lev]) &&
                probe(set, li, hs[lev], buf + lab.start[lev], (size_t)n - lab.start[lev], lev == 0, path, path_len, out))
                return 1;
    }
#undef CANDIDATE
    return 0;
}

/* ---- writers -------------------------------------------------------------------------------- */

static pthread_mutex_t writer_lock = PTHREAD_MUTEX_INITIALIZER;

/* installs next in *slot, waits for the readers of the old set, frees what only it held */
static void
publish_locked(gw_risk_set_t **slot, gw_risk_set_t *next)
{
    gw_risk_set_t *old = gw_snap_publish(slot, next);
    gw_qsbr_synchronize();
    gw_risk_set_free(old);
}

static int
replace_locked(gw_risk_set_t **slot, gw_risk_list_t *list, char *err, size_t errlen)
{
    gw_risk_set_t *cur = gw_snap_load(slot), *next;
    size_t idx;
    const gw_risk_list_t *old = gw_risk_set_find(cur, list->name, &idx);

    if (old == NULL) {
        set_err(err, errlen, list->name, "no such list");
        return -1;
    }
    if ((next = malloc(sizeof(*next))) == NULL) {
        set_err(err, errlen, list->name, strerror(ENOMEM));
        return -1;
    }
    *next = *cur;
    for (size_t i = 0; i != next->n; ++i)
        if (i != idx)
            __atomic_add_fetch(&next->lists[i]->refs, 1, __ATOMIC_RELAXED);
    list->refs = 1;
    list->version = old->version + 1;
    list->updated_at_ms = now_ms();
    next->lists[idx] = list;
    set_index(next); /* (the copy's small filter was cur's) */
    publish_locked(slot, next);
    return 0;
}

int
gw_risk_set_replace(gw_risk_set_t **slot, gw_risk_list_t *list, char *err, size_t errlen)
{
    int rc;
    pthread_mutex_lock(&writer_lock);
    rc = replace_locked(slot, list, err, errlen);
    pthread_mutex_unlock(&writer_lock);
    return rc;
}

void
gw_risk_set_swap(gw_risk_set_t **slot, gw_risk_set_t *set)
{
    pthread_mutex_lock(&writer_lock);
    publish_locked(slot, set);
    pthread_mutex_unlock(&writer_lock);
}

/* the list named name in the current set, or NULL with err set */
static const gw_risk_list_t *
current_list(gw_risk_set_t **slot, const char *name, char *err, size_t errlen)
{
    const gw_risk_list_t *l = gw_risk_set_find(gw_snap_load(slot), name, NULL);
    if (l == NULL)
        set_err(err, errlen, name != NULL ? name : "(null)", "no such list");
    return l;
}

/* a list that would empty the one in force: refused unless asked for (a truncated file, a failed download, an empty
 * upload look like that) */
static int
empties(const gw_risk_list_t *cur, const gw_risk_list_t *next, char *err, size_t errlen)
{
    if (next->count != 0 || cur->count == 0)
        return 0;
    char msg[160];
    snprintf(msg, sizeof(msg), "no entries: the %zu in force stay (to empty the list on purpose: PUT with ?allow_empty=1)",
             cur->count);
    set_err(err, errlen, cur->name, msg);
    return 1;
}

void
gw_risk_list_set_version(gw_risk_list_t *list, uint64_t version, int64_t updated_at_ms)
{
    list->version = version;
    list->updated_at_ms = updated_at_ms;
}

/* replace_locked, then what the replace changed into report (added, removed, their first entries): worked out after the
 * swap, so the new list is in force without waiting for it, on the old list held meanwhile by a reference of our own */
static int
replace_and_diff_locked(gw_risk_set_t **slot, const gw_risk_list_t *cur, gw_risk_list_t *next, gw_risk_report_t *report, char *err,
                        size_t errlen)
{
    gw_risk_list_t *old = (gw_risk_list_t *)cur;
    int rc;
    __atomic_add_fetch(&old->refs, 1, __ATOMIC_RELAXED);
    if ((rc = replace_locked(slot, next, err, errlen)) == 0)
        gw_risk_list_diff(old, next, report);
    if (__atomic_sub_fetch(&old->refs, 1, __ATOMIC_ACQ_REL) == 0)
        gw_risk_list_free(old);
    return rc;
}

int
gw_risk_set_reload(gw_risk_set_t **slot, const char *name, const char *path, gw_risk_report_t *report, char *err, size_t errlen)
{
    const gw_risk_list_t *cur;
    gw_risk_list_t *next = NULL;
    int rc = -1;

    pthread_mutex_lock(&writer_lock);
    if ((cur = current_list(slot, name, err, errlen)) != NULL &&
        gw_risk_list_load_file(path, name, cur->format, cur->action, &next, report, err, errlen) == 0) {
        report->entries_before = cur->count;
        if (empties(cur, next, err, errlen) || (rc = replace_and_diff_locked(slot, cur, next, report, err, errlen)) != 0)
            gw_risk_list_free(next);
    }
    pthread_mutex_unlock(&writer_lock);
    return rc;
}

int
gw_risk_set_put(gw_risk_set_t **slot, const char *name, const char *buf, size_t len, int allow_empty, const char *path,
                gw_risk_report_t *report, char *err, size_t errlen)
{
    gw_risk_report_t dummy;
    const gw_risk_list_t *cur;
    gw_risk_list_t *next = NULL;
    int rc = -1;

    if (report == NULL)
        report = &dummy;
    pthread_mutex_lock(&writer_lock);
    if ((cur = current_list(slot, name, err, errlen)) == NULL)
        goto Exit;
    if ((next = gw_risk_list_parse(name, cur->format, cur->action, buf, len, report)) == NULL) {
        set_err(err, errlen, name, strerror(ENOMEM));
        rc = -2;
        goto Exit;
    }
    report->entries_before = cur->count;
    if (is_suspect(report)) {
        set_err(err, errlen, name, "no valid entry");
        goto Exit;
    }
    if (!allow_empty && empties(cur, next, err, errlen))
        goto Exit;
    if (path != NULL && gw_risk_file_write(path, buf, len, err, errlen) < 0) {
        rc = -2;
        goto Exit;
    }
    if ((rc = replace_and_diff_locked(slot, cur, next, report, err, errlen)) == 0)
        next = NULL;
Exit:
    pthread_mutex_unlock(&writer_lock);
    gw_risk_list_free(next);
    return rc;
}

int
gw_risk_set_edit(gw_risk_set_t **slot, const char *name, const gw_risk_str_t *add_items, size_t nadd, const gw_risk_str_t *remove,
                 size_t nremove, const char *path, gw_risk_report_t *report, char *err, size_t errlen)
{
    const gw_risk_list_t *cur;
    gw_risk_list_t *next = NULL;
    char *text = NULL;
    size_t len;
    int rc = -1;

    pthread_mutex_lock(&writer_lock);
    if ((cur = current_list(slot, name, err, errlen)) == NULL)
        goto Exit;
    if ((next = gw_risk_list_edit(cur, add_items, nadd, remove, nremove, report)) != NULL)
        report->entries_before = cur->count;
    if (next != NULL && report->added == 0 && report->removed == 0) {
        rc = 0; /* nothing to change: no new version, no file written (the caller audits nothing) */
        goto Exit;
    }
    if (next == NULL ||
        (path != NULL && (text = gw_risk_list_serialize(next, &len)) == NULL)) {
        set_err(err, errlen, name, strerror(ENOMEM));
        rc = -2;
        goto Exit;
    }
    if (path != NULL && gw_risk_file_write(path, text, len, err, errlen) < 0) {
        rc = -2;
        goto Exit;
    }
    if ((rc = replace_locked(slot, next, err, errlen)) == 0)
        next = NULL;
Exit:
    pthread_mutex_unlock(&writer_lock);
    free(text);
    gw_risk_list_free(next);
    return rc;
}
