/*
 * geo — client address from trusted proxies, country lookup with libmaxminddb, regime table.
 * See geo.h for the contracts and the EU-membership rule.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <maxminddb.h>
#include "geo.h"

struct st_gw_geo_t {
    MMDB_s mmdb;
    uint32_t generation; /* distinguishes this handle in the per-thread record caches */
};

/*
 * Decoding a record costs ~5x the tree walk (MMDB_get_value skips the sibling values, names
 * in eight languages included), while one visitor's requests keep hitting the same record.
 * So each thread keeps a small direct-mapped cache from (handle generation, record offset)
 * to the decoded result: no lock, no allocation, no sharing. A new handle gets a new
 * generation, so entries of a closed database are never used.
 */
#define RECORD_CACHE_SIZE 64
static _Atomic uint32_t geo_generations;
static __thread struct {
    uint32_t generation; /* 0: empty */
    uint32_t offset;
    int rc;
    gw_geo_result_t result;
} record_cache[RECORD_CACHE_SIZE];

/* EU-27 member states, ISO 3166-1 alpha-2 (Greece is GR), sorted */
static const char eu_members[][3] = {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
                                     "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"};

static int
is_eu_member(const char cc[3])
{
    for (size_t i = 0; i != sizeof(eu_members) / sizeof(eu_members[0]); ++i)
        if (cc[0] == eu_members[i][0] && cc[1] == eu_members[i][1])
            return 1;
    return 0;
}

static int
upper_alpha(int c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 'A';
    return c >= 'A' && c <= 'Z' ? c : -1;
}

static int
upper_alnum(int c)
{
    return c >= '0' && c <= '9' ? c : upper_alpha(c);
}

/* --- lookup ---------------------------------------------------------------------------------- */

gw_geo_t *
gw_geo_open(const char *path, char *err, size_t errlen)
{
    /* database types that carry no location: a configuration mistake, not an empty answer */
    static const char *not_geo[] = {"ASN", "Anonymous-IP", "ISP", "Domain", "Connection-Type", NULL};
    gw_geo_t *g;
    int st;

    if (path == NULL) {
        snprintf(err, errlen, "geoip: no database file");
        return NULL;
    }
    if ((g = calloc(1, sizeof(*g))) == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    do {
        g->generation = ++geo_generations;
    } while (g->generation == 0);
    if ((st = MMDB_open(path, MMDB_MODE_MMAP, &g->mmdb)) != MMDB_SUCCESS) {
        int saved = errno;
        if (st == MMDB_FILE_OPEN_ERROR || st == MMDB_IO_ERROR)
            snprintf(err, errlen, "%s: cannot open GeoIP database: %s (%s)", path, MMDB_strerror(st), strerror(saved));
        else
            snprintf(err, errlen, "%s: not a usable GeoIP database: %s", path, MMDB_strerror(st));
        free(g);
        return NULL;
    }
    const char *type = g->mmdb.metadata.database_type != NULL ? g->mmdb.metadata.database_type : "";
    for (size_t i = 0; not_geo[i] != NULL; ++i) {
        if (strstr(type, not_geo[i]) != NULL) {
            snprintf(err, errlen, "%s: database type \"%s\" has no countries (need a GeoIP2/GeoLite2 Country or City database)",
                     path, type);
            gw_geo_close(g);
            return NULL;
        }
    }
    /* libmaxminddb has no public verifier: check every search-tree record once, so that a
     * database with a corrupt tree fails here and not, silently, on some requests
     * (linear in node_count: a few milliseconds for a full City database) */
    for (uint32_t i = 0; i != g->mmdb.metadata.node_count; ++i) {
        MMDB_search_node_s node;
        if ((st = MMDB_read_node(&g->mmdb, i, &node)) != MMDB_SUCCESS || node.left_record_type == MMDB_RECORD_TYPE_INVALID ||
            node.right_record_type == MMDB_RECORD_TYPE_INVALID) {
            snprintf(err, errlen, "%s: not a usable GeoIP database: %s (search tree node %u)", path,
                     MMDB_strerror(st != MMDB_SUCCESS ? st : MMDB_CORRUPT_SEARCH_TREE_ERROR), i);
            gw_geo_close(g);
            return NULL;
        }
    }
    return g;
}

void
gw_geo_close(gw_geo_t *g)
{
    if (g == NULL)
        return;
    MMDB_close(&g->mmdb);
    free(g);
}

uint64_t gw_geo_built_at(const gw_geo_t *g)
{
    return g->mmdb.metadata.build_epoch;
}

int gw_geo_has_subdivisions(const gw_geo_t *g)
{
    /* GeoIP2-Country, GeoLite2-Country, DBIP-Country-Lite: their type says so */
    const char *type = g->mmdb.metadata.database_type;
    return type == NULL || strstr(type, "Country") == NULL;
}

/* reads map[`name`].iso_code (and .is_in_european_union) into out; 0 when the code is usable */
static int
read_country(MMDB_entry_s *record, const char *name, gw_geo_result_t *out)
{
    MMDB_entry_data_s d;

    if (MMDB_get_value(record, &d, name, NULL) != MMDB_SUCCESS || !d.has_data || d.type != MMDB_DATA_TYPE_MAP)
        return -1;
    MMDB_entry_s map = {record->mmdb, d.offset};
    if (MMDB_get_value(&map, &d, "iso_code", NULL) != MMDB_SUCCESS || !d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING ||
        d.data_size != 2)
        return -1;
    int a = upper_alpha((unsigned char)d.utf8_string[0]), b = upper_alpha((unsigned char)d.utf8_string[1]);
    if (a < 0 || b < 0)
        return -1;
    out->country[0] = (char)a;
    out->country[1] = (char)b;
    out->country[2] = '\0';
    if (MMDB_get_value(&map, &d, "is_in_european_union", NULL) == MMDB_SUCCESS && d.has_data && d.type == MMDB_DATA_TYPE_BOOLEAN)
        out->in_eu = d.boolean ? 1 : 0;
    else
        out->in_eu = (uint8_t)is_eu_member(out->country);
    return 0;
}

static void
read_subdivision(MMDB_entry_s *record, gw_geo_result_t *out)
{
    MMDB_entry_data_s d;
    char sub[4];

    if (MMDB_get_value(record, &d, "subdivisions", "0", "iso_code", NULL) != MMDB_SUCCESS || !d.has_data ||
        d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size < 1 || d.data_size > 3)
        return;
    for (uint32_t i = 0; i != d.data_size; ++i) {
        int c = upper_alnum((unsigned char)d.utf8_string[i]);
        if (c < 0)
            return;
        sub[i] = (char)c;
    }
    memcpy(out->subdivision, sub, d.data_size);
    out->subdivision[d.data_size] = '\0';
}

int
gw_geo_lookup(const gw_geo_t *g, const struct sockaddr *sa, gw_geo_result_t *out)
{
    struct sockaddr_in v4;
    int mmdb_error = MMDB_SUCCESS;

    memset(out, 0, sizeof(*out));
    if (g == NULL || sa == NULL)
        return -1;
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            memset(&v4, 0, sizeof(v4));
            v4.sin_family = AF_INET;
            memcpy(&v4.sin_addr, sin6->sin6_addr.s6_addr + 12, 4);
            sa = (const struct sockaddr *)&v4;
        }
    } else if (sa->sa_family != AF_INET) {
        return -1;
    }
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&g->mmdb, sa, &mmdb_error);
    if (mmdb_error != MMDB_SUCCESS || !r.found_entry)
        return -1;
    size_t slot = (r.entry.offset * 2654435761u >> 16) % RECORD_CACHE_SIZE;
    if (record_cache[slot].generation == g->generation && record_cache[slot].offset == r.entry.offset) {
        *out = record_cache[slot].result;
        return record_cache[slot].rc;
    }
    int rc = 0;
    if (read_country(&r.entry, "country", out) == 0) {
        read_subdivision(&r.entry, out);
    } else if (read_country(&r.entry, "registered_country", out) != 0) {
        memset(out, 0, sizeof(*out));
        rc = -1;
    }
    record_cache[slot].generation = g->generation;
    record_cache[slot].offset = r.entry.offset;
    record_cache[slot].rc = rc;
    record_cache[slot].result = *out;
    return rc;
}

/* --- regime table ---------------------------------------------------------------------------- */

void
gw_regimes_init(gw_regimes_t *t)
{
    memset(t, 0, sizeof(*t));
    t->eu = -1;
    memset(t->country, -1, sizeof(t->country));
}

int
gw_regimes_set_default(gw_regimes_t *t, int regime)
{
    if (regime < 0 || regime > 127)
        return -1;
    t->def = (int8_t)regime;
    return 0;
}

int
gw_regimes_add(gw_regimes_t *t, const char *key, size_t len, int regime)
{
    char sub[4] = {0};
    int a, b;

    if (regime < 0 || regime > 127 || key == NULL || len < 2 || len == 3 || len > 6)
        return -1;
    if ((a = upper_alpha((unsigned char)key[0])) < 0 || (b = upper_alpha((unsigned char)key[1])) < 0)
        return -1;
    if (len == 2) {
        if (a == 'E' && b == 'U')
            t->eu = (int8_t)regime;
        else
            t->country[(a - 'A') * 26 + (b - 'A')] = (int8_t)regime;
        return 0;
    }
    if (key[2] != '-' || (a == 'E' && b == 'U')) /* EU is a group, it has no subdivisions */
        return -1;
    for (size_t i = 3; i != len; ++i) {
        int c = upper_alnum((unsigned char)key[i]);
        if (c < 0)
            return -1;
        sub[i - 3] = (char)c;
    }
    for (size_t i = 0; i != t->num_subs; ++i) {
        if (t->subs[i].cc[0] == a && t->subs[i].cc[1] == b && memcmp(t->subs[i].sub, sub, sizeof(sub)) == 0) {
            t->subs[i].regime = (int8_t)regime;
            return 0;
        }
    }
    if (t->num_subs == GW_REGIMES_MAX_SUBDIVISIONS)
        return -1;
    t->subs[t->num_subs].cc[0] = (char)a;
    t->subs[t->num_subs].cc[1] = (char)b;
    memcpy(t->subs[t->num_subs].sub, sub, sizeof(sub));
    t->subs[t->num_subs].regime = (int8_t)regime;
    ++t->num_subs;
    return 0;
}

int
gw_regimes_resolve(const gw_regimes_t *t, const gw_geo_result_t *geo, int *by_subdivision)
{
    if (by_subdivision != NULL)
        *by_subdivision = 0;
    if (geo == NULL || geo->country[0] < 'A' || geo->country[0] > 'Z' || geo->country[1] < 'A' || geo->country[1] > 'Z')
        return t->def;
    if (geo->subdivision[0] != '\0') {
        for (size_t i = 0; i != t->num_subs; ++i)
            if (t->subs[i].cc[0] == geo->country[0] && t->subs[i].cc[1] == geo->country[1] &&
                strncmp(t->subs[i].sub, geo->subdivision, sizeof(t->subs[i].sub)) == 0) {
                if (by_subdivision != NULL)
                    *by_subdivision = 1;
                return t->subs[i].regime;
            }
    }
    int8_t r = t->country[(geo->country[0] - 'A') * 26 + (geo->country[1] - 'A')];
    if (r >= 0)
        return r;
    if (geo->in_eu && t->eu >= 0)
        return t->eu;
    return t->def;
}

/* --- client address -------------------------------------------------------------------------- */

/* text[0..len) -> 16 bytes (IPv4 as ::ffff:a.b.c.d); returns AF_INET / AF_INET6, or -1 */
static int
parse_addr(const char *text, size_t len, uint8_t addr[16])
{
    char buf[INET6_ADDRSTRLEN + 1];

    if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
        ++text;
        len -= 2;
        if (memchr(text, ':', len) == NULL)
            return -1; /* brackets are for IPv6 only */
    }
    if (len == 0 || len >= sizeof(buf) || memchr(text, '\0', len) != NULL)
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (memchr(text, ':', len) != NULL)
        return inet_pton(AF_INET6, buf, addr) == 1 ? AF_INET6 : -1;
    memset(addr, 0, 10);
    addr[10] = addr[11] = 0xff;
    return inet_pton(AF_INET, buf, addr + 12) == 1 ? AF_INET : -1;
}

/* sockaddr -> 16 bytes as above; returns the family, or -1 */
static int
sockaddr_bytes(const struct sockaddr *sa, uint8_t addr[16])
{
    if (sa->sa_family == AF_INET) {
        memset(addr, 0, 10);
        addr[10] = addr[11] = 0xff;
        memcpy(addr + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return AF_INET;
    }
    if (sa->sa_family == AF_INET6) {
        memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return AF_INET6;
    }
    return -1;
}

static int
cidr_match(const gw_cidr_t *c, const uint8_t addr[16])
{
    size_t whole = c->prefix / 8, bits = c->prefix % 8;
    if (memcmp(c->addr, addr, whole) != 0)
        return 0;
    if (bits == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - bits));
    return (addr[whole] & mask) == c->addr[whole];
}

static int
list_contains(const gw_cidr_list_t *list, const uint8_t addr[16])
{
    if (list == NULL)
        return 0;
    for (size_t i = 0; i != list->num_entries; ++i)
        if (cidr_match(&list->entries[i], addr))
            return 1;
    return 0;
}

int
gw_cidr_list_add(gw_cidr_list_t *list, const char *cidr)
{
    gw_cidr_t c;
    const char *slash;
    size_t alen;
    unsigned prefix;
    int family;

    if (list == NULL || cidr == NULL || list->num_entries == GW_CIDR_LIST_MAX)
        return -1;
    slash = strchr(cidr, '/');
    alen = slash != NULL ? (size_t)(slash - cidr) : strlen(cidr);
    if ((family = parse_addr(cidr, alen, c.addr)) < 0)
        return -1;
    if (slash == NULL) {
        prefix = family == AF_INET ? 32 : 128;
    } else {
        const char *p = slash + 1;
        size_t n = strlen(p);
        if (n == 0 || n > 3 || (n > 1 && p[0] == '0'))
            return -1;
        prefix = 0;
        for (size_t i = 0; i != n; ++i) {
            if (p[i] < '0' || p[i] > '9')
                return -1;
            prefix = prefix * 10 + (unsigned)(p[i] - '0');
        }
        if (prefix > (family == AF_INET ? 32u : 128u))
            return -1;
    }
    if (family == AF_INET)
        prefix += 96;
    c.prefix = (uint8_t)prefix;
    /* clear host bits so that matching compares only the network part */
    for (size_t i = 0; i != 16; ++i) {
        size_t lo = i * 8;
        if (lo >= prefix)
            c.addr[i] = 0;
        else if (prefix - lo < 8)
            c.addr[i] &= (uint8_t)(0xff << (8 - (prefix - lo)));
    }
    list->entries[list->num_entries++] = c;
    return 0;
}

int
gw_cidr_list_contains(const gw_cidr_list_t *list, const struct sockaddr *sa)
{
    uint8_t addr[16];
    if (sa == NULL || sockaddr_bytes(sa, addr) < 0)
        return 0;
    return list_contains(list, addr);
}

int
gw_addr_truncated(const struct sockaddr *sa, char *out, size_t outlen)
{
    static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    uint8_t a[16];
    struct in6_addr net;

    if (outlen == 0)
        return -1;
    out[0] = '\0';
    if (sa == NULL || sockaddr_bytes(sa, a) < 0 || outlen < sizeof("255.255.255.0/24"))
        return -1;
    if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
        snprintf(out, outlen, "%u.%u.%u.0/24", a[12], a[13], a[14]);
        return 0;
    }
    memset(&net, 0, sizeof(net));
    memcpy(&net, a, 6);
    if (inet_ntop(AF_INET6, &net, out, (socklen_t)(outlen - 3)) == NULL) {
        out[0] = '\0';
        return -1;
    }
    strcat(out, "/48");
    return 0;
}

static void
store_addr(int family, const uint8_t addr[16], struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)out;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, addr + 12, 4);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, addr, 16);
    }
}

#define XFF_MAX_HOPS 64

/* An X-Forwarded-For entry's length without a port after it ("192.0.2.1:4711", "[2001:db8::1]:443"): Azure's Application
 * Gateway and IIS ARR write the client's port there, and an entry read as malformed left the proxy's own address as
 * the client (every visitor in regimes.default, one rate limit for them all). A bare IPv6 address ends in digits of
 * its own and keeps them. */
static size_t xff_without_port(const char *text, size_t len)
{
    size_t i = len;
    while (i != 0 && len - i <= 5 && text[i - 1] >= '0' && text[i - 1] <= '9')
        --i;
    if (i == len || i < 2 || len - i > 5 || text[i - 1] != ':')
        return len;
    size_t colon = i - 1;
    if (text[colon - 1] == ']' || memchr(text, ':', colon) == NULL)
        return colon;
    return len;
}

int
gw_client_addr(const struct sockaddr *peer, const char *xff, size_t xff_len, const gw_cidr_list_t *trusted,
               struct sockaddr_storage *out)
{
    uint8_t cur[16], next[16];
    int cur_family, from_xff = 0;

    memset(out, 0, sizeof(*out));
    out->ss_family = AF_UNSPEC;
    if (peer == NULL || (cur_family = sockaddr_bytes(peer, cur)) < 0)
        return -1;
    if (xff != NULL && list_contains(trusted, cur)) {
        size_t end = xff_len;
        for (unsigned hops = 0; hops != XFF_MAX_HOPS; ++hops) {
            /* the entry is xff[start..end), trimmed of optional whitespace */
            size_t start = end;
            while (start != 0 && xff[start - 1] != ',')
                --start;
            size_t s = start, e = end;
            while (s < e && (xff[s] == ' ' || xff[s] == '\t'))
                ++s;
            while (e > s && (xff[e - 1] == ' ' || xff[e - 1] == '\t'))
                --e;
            if (s == e && start == 0 && end == xff_len)
                break; /* empty header: nothing forwarded */
            int family = parse_addr(xff + s, xff_without_port(xff + s, e - s), next);
            if (family < 0)
                break; /* malformed: keep the last good address */
            memcpy(cur, next, 16);
            cur_family = family;
            from_xff = 1;
            if (!list_contains(trusted, cur) || start == 0)
                break; /* the first untrusted address, or the leftmost */
            end = start - 1;
        }
    }
    if (!from_xff) {
        memcpy(out, peer, peer->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
        return 0;
    }
    store_addr(cur_family, cur, out);
    return 1;
}
