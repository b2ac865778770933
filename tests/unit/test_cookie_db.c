/*
 * Unit tests for filters/cookie_db.c: classification of cookie names by the shipped
 * conf/cookies.json (generated from the Open Cookie Database, Apache-2.0), precedence of
 * exact names, longest prefixes and operator overrides, and load errors reported as
 * file:line:col. The lookup is also checked against a brute-force reference (linear scan)
 * on every listed name, every truncation of every pattern and suffixed variants.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include "cookie_db.h"

static const char *const cats4[] = {"necessary", "functional", "analytics", "marketing"};
enum { NEC, FUN, ANA, MKT };

static const char *
cookies_json(void)
{
    static char path[1024];
    if (access("conf/cookies.json", R_OK) == 0)
        return "conf/cookies.json";
    /* running from elsewhere: locate the file from this source file's path */
    const char *slash = strrchr(__FILE__, '/');
    snprintf(path, sizeof(path), "%.*s/../../conf/cookies.json", slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
    return path;
}

static gw_cookie_db_t *
load_real(const char *const *cats, size_t n)
{
    char err[512] = "";
    gw_cookie_db_t *db = gw_cookie_db_new(cats, n);
    assert_non_null(db);
    if (gw_cookie_db_load_file(db, cookies_json(), err, sizeof(err)) != 0)
        fail_msg("load: %s", err);
    return db;
}

static int
lk(const gw_cookie_db_t *db, const char *name)
{
    return gw_cookie_db_lookup(db, name, strlen(name));
}

static void
test_real_names(void **state)
{
    gw_cookie_db_t *db = load_real(cats4, 4);
    struct {
        const char *name;
        int cat;
    } cases[] = {
        {"_ga", ANA},
        {"_ga_ABC123XYZ", ANA},
        {"_ga_", ANA},
        {"_gid", ANA},
        {"_gat", ANA},
        {"_gat_UA-1234-5", ANA},
        {"_gat_gtag_UA_1", ANA},
        {"_fbp", MKT},
        {"IDE", MKT},
        {"NID", MKT},
        {"_gcl_au", MKT},
        {"_pk_id.1.1fff", ANA},
        {"_hjSession_123", FUN},
        {"__utma", ANA},
        {"CookieConsent", NEC}, /* Cookiebot's record of the choice: the database's Functional, of a consent manager */
        {"PHPSESSID", NEC},     /* the database's Functional ("strictly necessary") of the site's own software */
        {"wordpress_logged_in_5c3b9d1e2f", NEC},
        {"woocommerce_cart_hash", NEC},
        {"JSESSIONID", NEC},
        {"laravel_session", NEC},
        {"li_fat_id", FUN},           /* LinkedIn's Functional: a vendor's, stays optional */
        {"sessionid", NEC},           /* Django's, over the database's Instagram (marketing): gen_cookies.py NECESSARY */
        {"csrftoken", NEC},           /* Django's, which the database lacks */
        {"SSESS4b2f0c3a9d", NEC},     /* Drupal's */
        {".AspNetCore.Session", NEC}, /* ASP.NET Core's prefix */
        {"my_app_session", -1},
        {"_g", -1},
        {"_gaX", -1},
        {"nid", -1},
        {"", -1},
        {"_s", ANA},
        {"_session", -1}, /* "_s*" is narrowed to the exact name "_s" by gen_cookies.py */
        {"captcha", -1},
        {"chk", MKT},                      /* listed as Functional and Marketing: the stricter wins */
        {"token", NEC},                    /* Adform's and Xandr's on their domains; a sign-in token on the site's (NECESSARY) */
        {"ph_phc_AbC123dEf_posthog", ANA}, /* PostHog's, added by gen_cookies.py (the database lacks it) */
        {"ph_session", -1},
        {"_dd_s_v2", ANA}, /* Datadog RUM's, added too */
        {NULL, 0},
    };
    for (int i = 0; cases[i].name != NULL; ++i)
        if (lk(db, cases[i].name) != cases[i].cat)
            fail_msg("%s: got %d, want %d", cases[i].name, lk(db, cases[i].name), cases[i].cat);
    assert_int_equal(gw_cookie_db_lookup(db, NULL, 0), -1);

    gw_cookie_db_stats_t st;
    gw_cookie_db_stats(db, &st);
    assert_true(st.exact > 1900 && st.prefix > 200);
    assert_int_equal(st.skipped_category, 0);
    assert_int_equal(st.override_exact + st.override_prefix, 0);
    assert_string_equal(gw_cookie_db_category_name(db, ANA), "analytics");
    assert_null(gw_cookie_db_category_name(db, 4));
    assert_null(gw_cookie_db_category_name(db, -1));
    assert_int_equal(gw_cookie_db_num_categories(db), 4);
    gw_cookie_db_free(db);
}

/* ---- brute-force reference over the patterns of the real file ---------------------- */

struct pat {
    char *s;
    size_t len; /* without the '*' */
    int prefix, cat;
};

static size_t
read_patterns(struct pat **out)
{
    json_error_t jerr;
    json_t *root = json_load_file(cookies_json(), 0, &jerr), *list = json_object_get(root, "cookies");
    assert_non_null(list);
    size_t n = json_array_size(list);
    struct pat *p = calloc(n, sizeof(*p));
    for (size_t i = 0; i < n; ++i) {
        json_t *e = json_array_get(list, i);
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *cat = json_string_value(json_object_get(e, "category"));
        p[i].len = strlen(name);
        p[i].prefix = name[p[i].len - 1] == '*';
        p[i].len -= (size_t)p[i].prefix;
        p[i].s = strndup(name, p[i].len);
        p[i].cat = -1;
        for (int k = 0; k < 4; ++k)
            if (strcmp(cat, cats4[k]) == 0)
                p[i].cat = k;
        assert_true(p[i].cat >= 0);
    }
    json_decref(root);
    *out = p;
    return n;
}

static int
ref_lookup(const struct pat *p, size_t n, const char *name, size_t len)
{
    int best = -1;
    size_t best_len = 0;
    for (size_t i = 0; i < n; ++i) {
        if (!p[i].prefix && p[i].len == len && memcmp(p[i].s, name, len) == 0)
            return p[i].cat;
        if (p[i].prefix && p[i].len <= len && memcmp(p[i].s, name, p[i].len) == 0 && (best < 0 || p[i].len > best_len))
            best = p[i].cat, best_len = p[i].len;
    }
    return len == 0 ? -1 : best;
}

static void
test_matches_reference(void **state)
{
    gw_cookie_db_t *db = load_real(cats4, 4);
    struct pat *p;
    size_t n = read_patterns(&p), checked = 0;
    char buf[GW_COOKIE_DB_MAX_PATTERN + 16];
    static const char *const suffixes[] = {"", "X", "_", "1234567890", "\xff", "\x01", "~~"};

    for (size_t i = 0; i < n; ++i) {
        /* every truncation, with a few suffixes */
        for (size_t k = 0; k <= p[i].len; ++k) {
            for (size_t s = 0; s < sizeof(suffixes) / sizeof(suffixes[0]); ++s) {
                size_t sl = strlen(suffixes[s]);
                memcpy(buf, p[i].s, k);
                memcpy(buf + k, suffixes[s], sl);
                int want = ref_lookup(p, n, buf, k + sl), got = gw_cookie_db_lookup(db, buf, k + sl);
                if (want != got)
                    fail_msg("\"%.*s\": got %d, want %d", (int)(k + sl), buf, got, want);
                ++checked;
            }
        }
    }
    assert_true(checked > 100000);
    for (size_t i = 0; i < n; ++i)
        free(p[i].s);
    free(p);
    gw_cookie_db_free(db);
}

static void
test_fewer_categories(void **state)
{
    static const char *const two[] = {"analytics", "necessary"};
    gw_cookie_db_t *db = load_real(two, 2);
    gw_cookie_db_stats_t st;
    gw_cookie_db_stats(db, &st);
    assert_true(st.skipped_category > 1000); /* functional and marketing entries */
    assert_int_equal(lk(db, "_ga"), 0);
    assert_int_equal(lk(db, "_ga_XYZ"), 0);
    assert_int_equal(lk(db, "_fbp"), -1);
    assert_int_equal(lk(db, "CookieConsent"), 1); /* necessary */
    assert_int_equal(lk(db, "_hjSession_1"), -1); /* functional */
    gw_cookie_db_free(db);
}

static void
test_overrides(void **state)
{
    gw_cookie_db_t *db = load_real(cats4, 4);

    assert_int_equal(gw_cookie_db_add(db, "_ga", 3, NEC, 1), 0); /* override exact */
    assert_int_equal(lk(db, "_ga"), NEC);
    assert_int_equal(lk(db, "_ga_X"), ANA);                       /* the database prefix still applies */
    assert_int_equal(gw_cookie_db_add(db, "_ga*", 4, FUN, 1), 0); /* override prefix */
    assert_int_equal(lk(db, "_ga_X"), FUN);
    assert_int_equal(lk(db, "_ga"), NEC); /* exact override beats prefix override */
    assert_int_equal(gw_cookie_db_add(db, "NI*", 3, FUN, 1), 0);
    assert_int_equal(lk(db, "NID"), FUN); /* override prefix beats database exact */
    assert_int_equal(gw_cookie_db_add(db, "sid", 3, NEC, 1), 0);
    assert_int_equal(lk(db, "sid"), NEC);
    assert_int_equal(gw_cookie_db_add(db, "sid", 3, MKT, 1), 0); /* replaced */
    assert_int_equal(lk(db, "sid"), MKT);
    assert_int_equal(gw_cookie_db_add(db, "NI*", 3, ANA, 1), 0);
    assert_int_equal(lk(db, "NID"), ANA);

    gw_cookie_db_stats_t st;
    gw_cookie_db_stats(db, &st);
    assert_int_equal(st.override_exact, 2);
    assert_int_equal(st.override_prefix, 2);
    gw_cookie_db_free(db);
}

static void
test_longest_prefix(void **state)
{
    gw_cookie_db_t *db = gw_cookie_db_new(cats4, 4);
    struct {
        const char *pat;
        int cat;
    } add[] = {{"a*", 0}, {"ab*", 1}, {"abc*", 2}, {"aab*", 3}, {"b", 1}, {"bc*", 2}, {"abd", 3}, {"x y*", 1}, {NULL, 0}};
    for (int i = 0; add[i].pat != NULL; ++i)
        assert_int_equal(gw_cookie_db_add(db, add[i].pat, strlen(add[i].pat), add[i].cat, 0), 0);
    struct {
        const char *name;
        int cat;
    } cases[] = {{"a", 0},   {"ab", 1},  {"abc", 2}, {"abcd", 2}, {"abd", 3},  {"abdx", 1},  {"abx", 1},
                 {"aa", 0},  {"aab", 3}, {"aac", 0}, {"ax", 0},   {"b", 1},    {"bb", -1},   {"bc", 2},
                 {"bcd", 2}, {"c", -1},  {"x y", 1}, {"x", -1},   {"x yz", 1}, {"\xff", -1}, {NULL, 0}};
    for (int i = 0; cases[i].name != NULL; ++i)
        if (lk(db, cases[i].name) != cases[i].cat)
            fail_msg("%s: got %d, want %d", cases[i].name, lk(db, cases[i].name), cases[i].cat);
    gw_cookie_db_free(db);
}

/* names of different lengths with the same FNV-1a hash (known 32-bit collisions) are different names: the exact
 * table compares the length before the bytes (the shorter key is not read past its end either) */
static void
test_hash_collisions(void **state)
{
    gw_cookie_db_t *db = gw_cookie_db_new(cats4, 4);
    static const char *const pairs[][2] = {{"liquid", "costarring"}, {"zinke", "altarage"}, {"zinkes", "altarages"}};
    for (size_t i = 0; i != sizeof(pairs) / sizeof(pairs[0]); ++i) {
        assert_int_equal(gw_cookie_db_add(db, pairs[i][0], strlen(pairs[i][0]), MKT, 0), 0);
        if (lk(db, pairs[i][1]) != -1)
            fail_msg("\"%s\" taken for \"%s\"", pairs[i][1], pairs[i][0]);
        assert_int_equal(gw_cookie_db_add(db, pairs[i][1], strlen(pairs[i][1]), NEC, 0), 0);
        assert_int_equal(lk(db, pairs[i][0]), MKT);
        assert_int_equal(lk(db, pairs[i][1]), NEC);
    }
    gw_cookie_db_free(db);
}

static void
test_invalid_input(void **state)
{
    gw_cookie_db_t *db = gw_cookie_db_new(cats4, 4);
    const char *bad[] = {"*", "a=b", "a;b", " a", "a ", "a *", "a*b", "**", "a\x01", "\t", NULL};
    for (int i = 0; bad[i] != NULL; ++i)
        if (gw_cookie_db_add(db, bad[i], strlen(bad[i]), 0, 0) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
    assert_int_equal(gw_cookie_db_add(db, "", 0, 0, 0), -1);
    assert_int_equal(gw_cookie_db_add(db, "a", 1, -1, 0), -1);
    assert_int_equal(gw_cookie_db_add(db, "a", 1, 4, 0), -1);
    char *big = malloc(GW_COOKIE_DB_MAX_PATTERN + 1);
    memset(big, 'a', GW_COOKIE_DB_MAX_PATTERN + 1);
    assert_int_equal(gw_cookie_db_add(db, big, GW_COOKIE_DB_MAX_PATTERN + 1, 0, 0), -1);
    assert_int_equal(gw_cookie_db_add(db, big, GW_COOKIE_DB_MAX_PATTERN, 2, 0), 0);
    assert_int_equal(gw_cookie_db_lookup(db, big, GW_COOKIE_DB_MAX_PATTERN), 2);
    assert_int_equal(gw_cookie_db_lookup(db, big, GW_COOKIE_DB_MAX_PATTERN + 1), -1);
    free(big);
    assert_int_equal(gw_cookie_db_add(db, "a b", 3, 1, 0), 0); /* inner blank: fine */
    assert_int_equal(lk(db, "a b"), 1);
    gw_cookie_db_free(db);

    static const char *const dup[] = {"a", "b", "a"};
    static const char *const empty[] = {"a", ""};
    static const char *const null[] = {"a", NULL};
    static const char *const many[17] = {"c0", "c1",  "c2",  "c3",  "c4",  "c5",  "c6",  "c7", "c8",
                                         "c9", "c10", "c11", "c12", "c13", "c14", "c15", "c16"};
    assert_null(gw_cookie_db_new(dup, 3));
    assert_null(gw_cookie_db_new(empty, 2));
    assert_null(gw_cookie_db_new(null, 2));
    assert_null(gw_cookie_db_new(many, 17));
    assert_null(gw_cookie_db_new(many, 0));
    db = gw_cookie_db_new(many, 16);
    assert_non_null(db);
    assert_int_equal(gw_cookie_db_add(db, "z", 1, 15, 0), 0);
    assert_int_equal(lk(db, "z"), 15);
    gw_cookie_db_free(db);
    gw_cookie_db_free(NULL);
}

/* ---- load errors ---------------------------------------------------------------- */

static char tmpdir[256];

static int
setup_tmp(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_cookie_db.XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_tmp(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void
test_load_errors(void **state)
{
    struct {
        const char *text, *want; /* want: error after "<path>:" */
    } cases[] = {
        {"{\"cookies\": [", "1:13: "}, /* jansson syntax error: prefix only */
        {"[]", "1:1: expected an object with a \"cookies\" array"},
        {"{\n  \"source\": {}\n}", "1:1: missing \"cookies\" array"},
        {"{\n  \"cookies\": {}\n}", "2:14: cookies: expected an array"},
        {"{\n  \"cookies\": [],\n  \"extra\": 1\n}", "3:3: unknown key \"extra\" (cookies, source, notes)"},
        {"{\"cookies\": [\n    {\"name\": \"_ga\", \"category\": 5}\n]}", "2:33: cookies[0].category: expected a string"},
        {"{\"cookies\": [\n  {\"name\": \"a\", \"category\": \"analytics\"},\n  7\n]}", "3:3: cookies[1]: expected an object"},
        {"{\"cookies\": [\n  {\"name\": \"a\"}\n]}", "2:3: cookies[0]: \"name\" and \"category\" are required"},
        {"{\"cookies\": [\n  {\"name\": \"a\", \"category\": \"analytics\", \"vendor\": \"x\"}\n]}",
         "2:42: cookies[0]: unknown key \"vendor\" (name, category, platform)"},
        {"{\"cookies\": [\n  {\"name\": \"a=b\", \"category\": \"analytics\"}\n]}", "2:12: cookies[0].name: not a cookie name"},
        {"{\"cookies\": [\n  {\"name\": \"_ga\", \"category\": \"analytics\"},\n  {\"name\": \"_ga\", \"category\": "
         "\"marketing\"}\n]}",
         "3:12: cookies[1].name: \"_ga\" is listed twice"},
        {"{\"cookies\": [\n  {\"name\": \"_ga*\", \"category\": \"analytics\"},\n  {\"category\": \"nope\", \"name\": "
         "\"_ga*\"}\n]}",
         NULL},
        {"{\"cookies\": [\n  {\"name\": \"_ga*\", \"category\": \"analytics\"},\n  {\"category\": \"marketing\", \"name\": "
         "\"_ga*\"}\n]}",
         "3:37: cookies[1].name: \"_ga*\" is listed twice"},
        {"{\"cookies\": [], \"cookies\": []}", "1:"}, /* JSON_REJECT_DUPLICATES */
        {NULL, NULL},
    };
    char path[512], err[512];
    snprintf(path, sizeof(path), "%s/cookies.json", tmpdir);
    for (int i = 0; cases[i].text != NULL; ++i) {
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(cases[i].text, fp);
        fclose(fp);
        gw_cookie_db_t *db = gw_cookie_db_new(cats4, 4);
        err[0] = '\0';
        int rc = gw_cookie_db_load_file(db, path, err, sizeof(err));
        if (cases[i].want == NULL) {
            if (rc != 0)
                fail_msg("case %d: %s", i, err);
        } else {
            char want[600];
            snprintf(want, sizeof(want), "%s:%s", path, cases[i].want);
            if (rc != -1 || strncmp(err, want, strlen(want)) != 0)
                fail_msg("case %d: rc=%d\n got: %s\nwant: %s", i, rc, err, want);
        }
        gw_cookie_db_free(db);
    }
    /* a missing file, and a NULL error buffer */
    gw_cookie_db_t *db = gw_cookie_db_new(cats4, 4);
    snprintf(path, sizeof(path), "%s/missing.json", tmpdir);
    assert_int_equal(gw_cookie_db_load_file(db, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "missing.json: cannot open: No such file or directory"));
    assert_int_equal(gw_cookie_db_load_file(db, path, NULL, 0), -1);
    gw_cookie_db_free(db);
}

/* a second file adds to the first; the same name in both is an error */
static void
test_load_two_files(void **state)
{
    char a[512], b[512], err[512];
    snprintf(a, sizeof(a), "%s/a.json", tmpdir);
    snprintf(b, sizeof(b), "%s/b.json", tmpdir);
    FILE *fp = fopen(a, "w");
    /* a category is named whole: "analytic" and "marketingx" are categories this site does not have */
    fputs("{\"cookies\": [{\"name\": \"site_*\", \"category\": \"functional\"}, {\"name\": \"x\", \"category\": \"other\"},"
          " {\"name\": \"y\", \"category\": \"analytic\"}, {\"name\": \"z\", \"category\": \"marketingx\"}]}",
          fp);
    fclose(fp);
    gw_cookie_db_t *db = load_real(cats4, 4);
    assert_int_equal(gw_cookie_db_load_file(db, a, err, sizeof(err)), 0);
    assert_int_equal(lk(db, "site_pref"), FUN);
    assert_int_equal(lk(db, "_ga"), ANA);
    assert_int_equal(lk(db, "y"), -1);
    assert_int_equal(lk(db, "z"), -1);
    gw_cookie_db_stats_t st;
    gw_cookie_db_stats(db, &st);
    assert_int_equal(st.skipped_category, 3);
    fp = fopen(b, "w");
    fputs("{\"cookies\": [{\"name\": \"_fbp\", \"category\": \"necessary\"}]}", fp);
    fclose(fp);
    assert_int_equal(gw_cookie_db_load_file(db, b, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "\"_fbp\" is listed twice"));
    gw_cookie_db_free(db);
}

/* a site's own name for a category of the file ("statistics" for "analytics"): mapped, its entries keep their
 * classification; unmapped, they are skipped, and each skipped category is told with its count and a first name */
static void
test_mapped_and_skipped_categories(void **state)
{
    static const char *const cats[] = {"necessary", "functional", "statistics"};
    char path[512], err[512] = "";
    size_t n;
    gw_cookie_db_t *db = gw_cookie_db_new(cats, 3);
    assert_int_equal(gw_cookie_db_map_category(db, "analytics", 2), 0);
    assert_int_equal(gw_cookie_db_map_category(db, "analytics", 1), -1); /* mapped already */
    assert_int_equal(gw_cookie_db_map_category(db, "marketing", 3), -1); /* no such category */
    assert_int_equal(gw_cookie_db_map_category(db, "", 0), -1);
    snprintf(path, sizeof(path), "%s/mapped.json", tmpdir);
    FILE *fp = fopen(path, "w");
    fputs("{\"cookies\": [{\"name\": \"_ga\", \"category\": \"analytics\"}, {\"name\": \"_fbp\", \"category\": \"marketing\"},"
          " {\"name\": \"_hj*\", \"category\": \"analytics\"}, {\"name\": \"sid\", \"category\": \"necessary\"},"
          " {\"name\": \"_gcl_au\", \"category\": \"marketing\"}, {\"name\": \"x\", \"category\": \"social\"},"
          " {\"name\": \"statistics_x\", \"category\": \"statistics\"}]}",
          fp);
    fclose(fp);
    if (gw_cookie_db_load_file(db, path, err, sizeof(err)) != 0)
        fail_msg("load: %s", err);
    assert_int_equal(lk(db, "_ga"), 2);
    assert_int_equal(lk(db, "_hjid"), 2);
    assert_int_equal(lk(db, "statistics_x"), 2); /* a file category of the site's own name is read as it is */
    assert_int_equal(lk(db, "sid"), 0);
    assert_int_equal(lk(db, "_fbp"), -1);
    const gw_cookie_db_skipped_t *sk = gw_cookie_db_skipped(db, &n);
    assert_int_equal(n, 2);
    assert_string_equal(sk[0].category, "marketing");
    assert_string_equal(sk[0].example, "_fbp");
    assert_int_equal(sk[0].count, 2);
    assert_string_equal(sk[1].category, "social");
    assert_string_equal(sk[1].example, "x");
    assert_int_equal(sk[1].count, 1);
    gw_cookie_db_free(db);

    /* the shipped file with "statistics" unmapped: its analytics entries are told, not silently unclassified */
    db = load_real(cats, 3);
    sk = gw_cookie_db_skipped(db, &n);
    assert_int_equal(n, 2); /* analytics and marketing, in the file's order */
    size_t ana = strcmp(sk[0].category, "analytics") == 0 ? 0 : 1;
    assert_string_equal(sk[ana].category, "analytics");
    assert_string_equal(sk[1 - ana].category, "marketing");
    assert_true(sk[ana].count > 100);
    assert_int_equal(lk(db, "_ga"), -1);
    gw_cookie_db_free(db);
}

/* what an operator's prefix takes from the database: its names and prefixes of other categories, the smallest named */
static void
test_shadowed_by_a_prefix(void **state)
{
    char path[512], err[512] = "";
    gw_cookie_db_shadowed_t sh;
    snprintf(path, sizeof(path), "%s/shadowed.json", tmpdir);
    FILE *fp = fopen(path, "w");
    fputs("{\"cookies\": [{\"name\": \"_gid\", \"category\": \"analytics\"}, {\"name\": \"_ga\", \"category\": \"analytics\"},"
          " {\"name\": \"_g_own\", \"category\": \"necessary\"}, {\"name\": \"_gcl_*\", \"category\": \"marketing\"},"
          " {\"name\": \"x\", \"category\": \"analytics\"}, {\"name\": \"_\", \"category\": \"marketing\"}]}",
          fp);
    fclose(fp);
    gw_cookie_db_t *db = gw_cookie_db_new(cats4, 4);
    if (gw_cookie_db_load_file(db, path, err, sizeof(err)) != 0)
        fail_msg("load: %s", err);
    assert_int_equal(gw_cookie_db_shadowed(db, "_g", 2, NEC, &sh), 3); /* _ga, _gid, _gcl_* */
    assert_int_equal(sh.count, 3);
    assert_int_equal(sh.example_len, 3);
    assert_memory_equal(sh.example, "_ga", 3);
    assert_int_equal(sh.example_category, ANA);
    assert_int_equal(gw_cookie_db_shadowed(db, "_g", 2, ANA, &sh), 2); /* _g_own, _gcl_* */
    assert_memory_equal(sh.example, "_g_own", 6);
    assert_int_equal(sh.example_category, NEC);
    assert_int_equal(gw_cookie_db_shadowed(db, "_gid", 4, ANA, &sh), 0);
    assert_int_equal(gw_cookie_db_shadowed(db, "y", 1, NEC, &sh), 0);
    assert_null(sh.example);
    gw_cookie_db_free(db);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_names),    cmocka_unit_test(test_matches_reference), cmocka_unit_test(test_fewer_categories),
        cmocka_unit_test(test_overrides),     cmocka_unit_test(test_longest_prefix),    cmocka_unit_test(test_hash_collisions),
        cmocka_unit_test(test_invalid_input), cmocka_unit_test(test_load_errors),       cmocka_unit_test(test_load_two_files),
        cmocka_unit_test(test_mapped_and_skipped_categories), cmocka_unit_test(test_shadowed_by_a_prefix),
    };
    return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
