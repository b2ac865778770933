/* Unit tests for gateway/config.c: every kind of bad configuration gives file:line:col and a clear message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "config.h"

static char tmpdir[64];

static int setup(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/cg-test-config-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    char path[128];
    snprintf(path, sizeof(path), "%s/cert.pem", tmpdir);
    FILE *fp = fopen(path, "w");
    fputs("x", fp);
    fclose(fp);
    snprintf(path, sizeof(path), "%s/tokens", tmpdir);
    fp = fopen(path, "w");
    fputs("ops:secret\n", fp);
    fclose(fp);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static int load(const char *text, gw_config_t *c, char *err, size_t errlen)
{
    return gw_config_load_text(c, "t.json", tmpdir, text, strlen(text), err, errlen);
}

typedef struct {
    const char *text;
    const char *at;   /* the text found at the reported line:column */
    const char *want; /* the message after "t.json:LINE:COL: " (NULL: not checked) */
} bad_case_t;

#define MIN "\"listen\": [{\"port\": 8080}], \"upstream\": \"http://127.0.0.1:9000\""

static const bad_case_t bad[] = {
    {"", NULL, "the file is empty: a configuration is a JSON object, at least {\"listen\": [{\"port\": 8080}], \"upstream\": \"http://127.0.0.1:9000\"}"},
    {" \r\n\t\n", NULL, "the file is empty: a configuration is a JSON object, at least {\"listen\": [{\"port\": 8080}], \"upstream\": \"http://127.0.0.1:9000\"}"},
    /* a byte order mark (Notepad's): jansson said "'[' or '{' expected near '\xef\xbb\xbf'", which does not say what to do */
    {"\xef\xbb\xbf{" MIN "}", "\xef\xbb\xbf", "the file begins with a byte order mark (EF BB BF, some Windows editors write one): "
                                               "save it as UTF-8 without one"},
    {"{\"listen\": [}", "}", "unexpected token near '}'"},
    /* a syntax error's column in bytes, as every other error's (jansson counts characters): after UTF-8 text too */
    {"{\"ui\": {\"strings\": {\"zh-CN\": {\"banner.title\": \"\xe9\x9a\x90\xe7\xa7\x81\"}}}, x}", "x",
     "string or '}' expected near 'x'"},
    {"[]", "[]", "the configuration must be a JSON object"},
    {"{\"upstream\": \"http://x\"}", "{", "missing required key \"listen\""},
    {"{\"listen\": [{\"port\": 1}]}", "{", "missing required key \"upstream\""},
    {"{" MIN ", \"bogus\": 1}", "\"bogus\"", "bogus: unknown key (allowed here: listen, admin, upstream, threads, proxy, log, "
                                        "secrets_file, policy, categories, regimes, geoip, store, enforcement, cookies, beacons, "
                                        "trackers, risk, html, channel, ui)"},
    {"{\"listen\": [{\"port\": 0}], \"upstream\": \"http://x\"}", "0}", "listen[0].port: must be in 1..65535, not 0"},
    {"{\"listen\": [{\"port\": 70000}], \"upstream\": \"http://x\"}", "70000", "listen[0].port: must be in 1..65535, not 70000"},
    {"{\"listen\": [{\"port\": \"80\"}], \"upstream\": \"http://x\"}", "\"80\"", "listen[0].port: must be an integer, not a string"},
    {"{\"listen\": [{\"port\": 80, \"hots\": \"x\"}], \"upstream\": \"http://x\"}", "\"hots\"",
     "listen[0].hots: unknown key (allowed here: host, port, tls, proxy_protocol)"},
    {"{\"listen\": [{\"port\": 80, \"host\": \"example.com\"}], \"upstream\": \"http://x\"}", "\"example.com\"",
     "listen[0].host: \"example.com\" is not an IPv4 or IPv6 address"},
    {"{\"listen\": [], \"upstream\": \"http://x\"}", "[]", "listen: must list 1..16 listeners"},
    {"{\"listen\": {}, \"upstream\": \"http://x\"}", "{}", "listen: must be an array, not an object"},
    {"{\"listen\": [{\"port\": 80}], \"upstream\": \"ftp://x\"}", "\"ftp://x\"",
     "upstream: \"ftp://x\": only http:// upstream URLs are supported"},
    {"{\"listen\": [{\"port\": 80}], \"upstream\": \"http://\"}", "\"http://\"",
     "upstream: \"http://\" is not a URL of the form http://host[:port][/path]"},
    {"{\"listen\": [{\"port\": 80}], \"upstream\": \"http://x:99999\"}", "\"http://x:99999\"",
     "upstream: \"http://x:99999\" is not a URL of the form http://host[:port][/path]"},
    {"{" MIN ", \"threads\": 0}", "0}", "threads: must be in 1..256, not 0"},
    {"{" MIN ", \"enforcement\": \"off\"}", "\"off\"", "enforcement: \"off\" is not one of \"enforce\", \"report-only\""},
    {"{" MIN ", \"categories\": [\"functional\"]}", "[\"functional\"]", "categories: must include \"necessary\" (it is always granted)"},
    {"{" MIN ", \"categories\": [\"necessary\", \"necessary\"]}", "\"necessary\"]", "categories[1]: duplicate category \"necessary\""},
    {"{" MIN ", \"categories\": [\"necessary\", \"Bad Name\"]}", "\"Bad Name\"",
     "categories[1]: \"Bad Name\": category names are 1..32 of a-z, 0-9, '_', '-'"},
    {"{" MIN ", \"regimes\": {\"by_country\": {\"usa\": \"opt-out\"}}}", "\"usa\"",
     "regimes.by_country.usa: \"usa\": keys are ISO 3166-1 codes (\"CN\"), subdivisions (\"US-CA\") or \"EU\""},
    {"{" MIN ", \"regimes\": {\"by_country\": {\"US\": \"opt_out\"}}}", "\"opt_out\"",
     "regimes.by_country.US: \"opt_out\" is not one of \"opt-in\", \"opt-out\", \"notice\""},
    {"{" MIN ", \"regimes\": {\"gpc_refuses\": [\"ads\"]}}", "\"ads\"", "regimes.gpc_refuses[0]: not a configured category"},
    {"{" MIN ", \"geoip\": {\"trusted_proxies\": [\"10.0.0.0/33\"]}}", "\"10.0.0.0/33\"",
     "geoip.trusted_proxies[0]: must be an address or CIDR prefix such as \"10.0.0.0/8\" or \"::1/128\""},
    {"{" MIN ", \"geoip\": {\"trusted_proxies\": [\"10.0.0.0/4294967328\"]}}", "\"10.0.0.0/4294967328\"",
     "geoip.trusted_proxies[0]: must be an address or CIDR prefix such as \"10.0.0.0/8\" or \"::1/128\""},
    {"{" MIN ", \"geoip\": {\"database\": \"missing.mmdb\"}}", "\"missing.mmdb\"", NULL},
    {"{" MIN ", \"cookies\": {\"overrides\": {\"sid\": \"essential\"}}}", "\"essential\"",
     "cookies.overrides.sid: \"essential\" is not one of \"necessary\", \"functional\", \"analytics\", \"marketing\""},
    {"{" MIN ", \"cookies\": {\"overrides\": {\"a=b\": \"necessary\"}}}", "\"a=b\"",
     "cookies.overrides.a=b: not a cookie name (1..256 bytes without blanks, control bytes, '=', ';' or ','; a '*' only at the end, "
     "for a prefix; at most 256 overrides)"},
    {"{" MIN ", \"cookies\": {\"overrides\": {\"*x\": \"necessary\"}}}", "\"*x\"", NULL},
    {"{" MIN ", \"beacons\": {\"endpoints\": [{\"path\": \"collect\", \"category\": \"analytics\"}]}}", "{\"path\"",
     "beacons.endpoints[0]: \"path\" must start with '/'"},
    {"{" MIN ", \"risk\": {\"lists\": [{\"name\": \"p\", \"file\": \"p.txt\", \"format\": \"csv\", \"action\": \"block\"}]}}",
     "\"csv\"", "risk.lists[0].format: \"csv\" is not one of \"domains\", \"hosts\", \"abp\", \"urls\""},
    {"{" MIN ", \"admin\": {\"tokens_file\": \"tokens\", \"listen\": {\"port\": 8081, \"tls\": {}}}}", "\"tls\"",
     "admin.listen.tls: unknown key (allowed here: host, port)"},
    {"{" MIN ", \"admin\": {\"listen\": {\"port\": 8081}}}", "{\"listen\"", "admin: missing required key \"tokens_file\""},
    {"{" MIN ", \"log\": {\"level\": \"verbose\"}}", "\"verbose\"", "log.level: \"verbose\" is not one of \"debug\", \"info\", \"warn\", \"error\""},
    {"{" MIN ", \"proxy\": {\"io_timeout_ms\": -5}}", "-5", "proxy.io_timeout_ms: must be in 1..3600000, not -5"},
    {"{" MIN ", \"proxy\": {\"send_timeout_ms\": 999}}", "999", "proxy.send_timeout_ms: must be in 1000..3600000, not 999"},
    {"{" MIN ", \"store\": {\"rate_per_minute\": -1}}", "-1", "store.rate_per_minute: must be in 0..1000000, not -1"},
    {"{" MIN ", \"store\": {\"rate_per_minute\": \"60/min\"}}", "\"60/min\"", "store.rate_per_minute: must be an integer, not a string"},
    {"{" MIN ", \"html\": {\"memo_kb\": 2000000}}", "2000000", "html.memo_kb: must be in 0..1048576, not 2000000"},
    {"{" MIN ", \"html\": {\"memo_kb\": \"4M\"}}", "\"4M\"", "html.memo_kb: must be an integer, not a string"},
    {"{\"listen\": [{\"port\": 80}], \"upstream\": \"http://x\", \"upstream\": \"http://y\"}", NULL,
     "duplicate object key near '\"upstream\"' (given twice in one object: keep one)"},
    /* the commonest JSON mistakes: jansson's message, then what to do */
    {"{" MIN ",\n}", "}", "string or '}' expected near '}' (the comma before it: JSON allows none after the last item)"},
    {"{\"listen\": [{\"port\": 80},], \"upstream\": \"http://x\"}", "]",
     "unexpected token near ']' (the comma before it: JSON allows none after the last item)"},
    /* (a syntax error's column is the last byte of the token jansson names) */
    {"{\"listen\": [{\"port\": 80}]\n \"upstream\": \"http://x\"}", "\": \"http://x\"}", "'}' expected near '\"upstream\"' (a comma missing before it?)"},
    {"{" MIN ", \"html\": {\"rewrite\": true \"memo_kb\": 1}}", "\": 1}}", "'}' expected near '\"memo_kb\"' (a comma missing before it?)"},
    {"{" MIN ", // the origin\n}", "/", "string or '}' expected near '/' (JSON has no comments)"},
    {"{" MIN ", 'threads': 2}", "'", "string or '}' expected near ''' (JSON strings are in double quotes)"},
    {"{" MIN "}\n{}", "{}", "end of file expected near '{' (the file is one JSON object: this follows its closing '}')"},
    /* a directory where a file is named (tmpdir itself: "."): read as a file, one was an empty tokens file (an admin API
     * that accepted nobody), elsewhere the start failed after --check-config had said "valid" */
    {"{" MIN ", \"admin\": {\"tokens_file\": \".\"}}", "\".\"", NULL},
    {"{" MIN ", \"store\": {\"sqlite\": \".\"}}", "\".\"", NULL},
    {"{" MIN ", \"cookies\": {\"database\": \".\"}}", "\".\"", NULL},
    {"{" MIN ", \"channel\": {\"audit_log\": \".\"}}", "\".\"", NULL},
    {"{" MIN ", \"log\": {\"access\": \".\"}}", "\".\"", NULL},
    {"{" MIN ", \"risk\": {\"lists\": [{\"name\": \"p\", \"file\": \".\", \"format\": \"domains\", \"action\": \"block\"}]}}",
     "\".\"", NULL},
    /* two risk lists on one file: an admin edit of the one (a warn list) rewrote the other (a block list) */
    {"{" MIN ", \"risk\": {\"lists\": [{\"name\": \"a\", \"file\": \"x.txt\"}, {\"name\": \"b\", \"file\": \"x.txt\", "
     "\"action\": \"warn\"}]}}", "\"x.txt\", \"action\"", NULL},
    /* a wildcard is its family's: a listener without host is 0.0.0.0's, and an admin listener on ::1 is inside :: */
    {"{\"listen\": [{\"port\": 8080}, {\"host\": \"0.0.0.0\", \"port\": 8080}], \"upstream\": \"http://192.0.2.1\"}",
     "{\"host\": \"0.0.0.0\"", "listen[1]: repeats listen[0] (0.0.0.0:8080)"},
    {"{\"listen\": [{\"host\": \"::\", \"port\": 8080}], \"admin\": {\"listen\": {\"host\": \"::1\", \"port\": 8080}, \"tokens_file\": "
     "\"tokens\"}, \"upstream\": \"http://192.0.2.1\"}",
     NULL, "admin.listen: the admin listener's port 8080 is listen[0]'s too: the admin API needs a port of its own"},
    /* an upstream that is the gateway's own listener: it started, and every request went round until the client gave up */
    {"{\"listen\": [{\"port\": 8080}], \"upstream\": \"http://127.0.0.1:8080\"}", "\"http://127.0.0.1:8080\"",
     "upstream: \"http://127.0.0.1:8080\" is the gateway's own listen[0]: every request would be proxied back to the gateway, "
     "again and again; name the origin's address"},
    {"{\"listen\": [{\"host\": \"127.0.0.1\", \"port\": 9000}, {\"host\": \"::1\", \"port\": 8080}], \"upstream\": "
     "\"http://localhost:8080/app/\"}",
     "\"http://localhost:8080/app/\"", "upstream: \"http://localhost:8080/app/\" is the gateway's own listen[1]: every request "
                                      "would be proxied back to the gateway, again and again; name the origin's address"},
    {"{\"listen\": [{\"host\": \"::\", \"port\": 80}], \"upstream\": \"http://[0:0::1]\"}", "\"http://[0:0::1]\"", NULL},
    {"{\"listen\": [{\"host\": \"127.0.0.1\", \"port\": 80}], \"upstream\": \"http://LOCALHOST/\"}", "\"http://LOCALHOST/\"", NULL},
    {"{\"listen\": [{\"port\": 8080}], \"admin\": {\"listen\": {\"port\": 9000}, \"tokens_file\": \"tokens\"}, \"upstream\": "
     "\"http://127.0.0.1:9000\"}",
     "\"http://127.0.0.1:9000\"", "upstream: \"http://127.0.0.1:9000\" is the gateway's own admin listener: name the origin's address"},
};

/* offset of line:col in text, or -1 */
static long offset_of(const char *text, unsigned line, unsigned col)
{
    const char *p = text;
    for (unsigned l = 1; l < line; ++l) {
        if ((p = strchr(p, '\n')) == NULL)
            return -1;
        ++p;
    }
    return col >= 1 && strlen(p) >= col - 1 ? (long)(p - text) + col - 1 : -1;
}

static void test_bad_configs(void **state)
{
    char err[1024];
    for (size_t i = 0; i != sizeof(bad) / sizeof(bad[0]); ++i) {
        gw_config_t c;
        unsigned line = 0, col = 0;
        int consumed = 0;
        int rc = load(bad[i].text, &c, err, sizeof(err));
        gw_config_free(&c);
        if (rc != -1)
            fail_msg("case %zu accepted: %s", i, bad[i].text);
        if (sscanf(err, "t.json:%u:%u: %n", &line, &col, &consumed) != 2 || consumed == 0)
            fail_msg("case %zu: no file:line:col in \"%s\"", i, err);
        if (bad[i].want != NULL && strcmp(err + consumed, bad[i].want) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err + consumed, bad[i].want);
        if (bad[i].at != NULL) {
            long off = offset_of(bad[i].text, line, col);
            if (off < 0 || strncmp(bad[i].text + off, bad[i].at, strlen(bad[i].at)) != 0)
                fail_msg("case %zu: %u:%u points at \"%s\", want \"%s\"", i, line, col, off < 0 ? "(nothing)" : bad[i].text + off,
                         bad[i].at);
        }
    }
}

/* the same port on another address, another port, a name not resolved here: not the gateway itself; two wildcards */
static void test_addresses_accepted(void **state)
{
    static const char *const ok[] = {
        "{\"listen\": [{\"host\": \"127.0.0.1\", \"port\": 8080}], \"upstream\": \"http://127.0.0.2:8080\"}",
        "{\"listen\": [{\"port\": 8080}], \"upstream\": \"http://127.0.0.1:8081\"}",
        "{\"listen\": [{\"port\": 8080}], \"upstream\": \"http://origin.internal:8080\"}",
        "{\"listen\": [{\"host\": \"::1\", \"port\": 80}], \"upstream\": \"http://127.0.0.1\"}",
        /* IPv4's and IPv6's wildcards side by side: the IPv6 socket is IPv6 only (it was refused as a repeat) */
        "{\"listen\": [{\"host\": \"0.0.0.0\", \"port\": 80}, {\"host\": \"::\", \"port\": 80}], \"upstream\": "
        "\"http://192.0.2.1\"}",
        "{\"listen\": [{\"port\": 80}, {\"host\": \"::\", \"port\": 80}], \"upstream\": \"http://192.0.2.1\"}",
        "{\"listen\": [{\"host\": \"::\", \"port\": 8080}], \"admin\": {\"listen\": {\"host\": \"127.0.0.1\", \"port\": 8080}, "
        "\"tokens_file\": \"tokens\"}, \"upstream\": \"http://192.0.2.1\"}",
    };
    char err[1024];
    for (size_t i = 0; i != sizeof(ok) / sizeof(ok[0]); ++i) {
        gw_config_t c;
        int rc = load(ok[i], &c, err, sizeof(err));
        gw_config_free(&c);
        if (rc != 0)
            fail_msg("case %zu refused: %s", i, err);
    }
}

/* columns are 1-based: jansson's 0 at the end of a line or of the file is not one */
static void test_syntax_error_column_never_0(void **state)
{
    char err[1024];
    gw_config_t c;
    assert_int_equal(load("[", &c, err, sizeof(err)), -1);
    assert_string_equal(err, "t.json:1:1: ']' expected near end of file");
    gw_config_free(&c);
    assert_int_equal(load("{\n", &c, err, sizeof(err)), -1);
    assert_string_equal(err, "t.json:2:1: string or '}' expected near end of file");
    gw_config_free(&c);
    assert_int_equal(load("{\"listen\":\n", &c, err, sizeof(err)), -1);
    assert_string_equal(err, "t.json:2:1: unexpected token near end of file");
    gw_config_free(&c);
}

static void test_missing_files_name_the_file(void **state)
{
    char err[1024];
    gw_config_t c;
    assert_int_equal(load("{\"listen\": [{\"port\": 80, \"tls\": {\"cert\": \"cert.pem\", \"key\": \"nokey.pem\"}}], "
                          "\"upstream\": \"http://x\"}",
                          &c, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "t.json:1:61: listen[0].tls.key: cannot read "));
    assert_non_null(strstr(err, "/nokey.pem: No such file or directory"));
    gw_config_free(&c);
}

/* a directory where a file belongs: said so, with what to do (not "'[' or '{' expected near end of file") */
static void test_directory_for_a_file(void **state)
{
    char err[1024], want[256];
    gw_config_t c;
    assert_int_equal(gw_config_load(&c, tmpdir, err, sizeof(err)), -1);
    gw_config_free(&c);
    snprintf(want, sizeof(want), "%s: is a directory: -c names the configuration file (%s/consentgate.json?)", tmpdir, tmpdir);
    assert_string_equal(err, want);
    assert_int_equal(load("{" MIN ", \"admin\": {\"tokens_file\": \".\"}}", &c, err, sizeof(err)), -1);
    gw_config_free(&c);
    snprintf(want, sizeof(want), "t.json:1:92: admin.tokens_file: %s/. is a directory: name a file (in it)", tmpdir);
    assert_string_equal(err, want);
}

static void test_multiline_position(void **state)
{
    char err[1024];
    gw_config_t c;
    const char *text = "{\n  \"listen\": [\n    {\"port\": 8080},\n    {\"port\": 8443, \"tls\": 1}\n  ],\n"
                       "  \"upstream\": \"http://127.0.0.1:9000\"\n}\n";
    assert_int_equal(load(text, &c, err, sizeof(err)), -1);
    assert_string_equal(err, "t.json:4:27: listen[1].tls: must be an object, not an integer");
    gw_config_free(&c);
}

static void test_minimal_defaults(void **state)
{
    char err[1024];
    gw_config_t c;
    assert_int_equal(load("{" MIN "}", &c, err, sizeof(err)), 0);
    assert_int_equal(c.num_listen, 1);
    assert_int_equal(c.listen[0].port, 8080);
    assert_null(c.listen[0].tls_cert);
    assert_string_equal(c.upstream, "http://127.0.0.1:9000");
    /* one worker thread per online CPU (README: "threads: number of CPUs") */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    assert_true(cpus >= 1);
    assert_int_equal(c.threads, (unsigned)cpus);
    assert_int_equal(c.proxy.io_timeout_ms, 30000);
    assert_int_equal(c.proxy.send_timeout_ms, 60000);
    assert_int_equal(c.proxy.max_request_body, 1024 * 1024);
    assert_int_equal(c.num_categories, 4);
    assert_string_equal(c.categories[0], "necessary");
    assert_int_equal(c.regimes.def, GW_REGIME_OPT_IN);
    assert_int_equal(c.regimes.gpc_refuses, 1u << 3);
    assert_int_equal(c.cookies.unknown_category, 1);
    assert_int_equal(c.beacons.ping_category, 2);
    assert_int_equal(c.report_only, 0);
    assert_int_equal(c.policy.version, 1);
    assert_null(c.admin.tokens_file);
    assert_string_equal(c.admin.listen.host, "127.0.0.1"); /* loopback unless configured */
    assert_int_equal(c.admin.listen.port, 8081);
    assert_non_null(strstr(c.secrets_file, "/../var/secrets.json"));
    assert_non_null(strstr(c.store.sqlite, "/../var/consent.db"));
    assert_int_equal(c.store.rate_per_minute, 60);
    gw_config_free(&c);
}

static void test_full_config(void **state)
{
    char err[1024];
    gw_config_t c;
    const char *text = "{\"listen\": [{\"host\": \"127.0.0.1\", \"port\": 8080}, {\"host\": \"::1\", \"port\": 8443, "
                       "\"tls\": {\"cert\": \"cert.pem\", \"key\": \"cert.pem\"}}],"
                       "\"admin\": {\"listen\": {\"host\": \"127.0.0.1\", \"port\": 9081}, \"tokens_file\": \"tokens\"},"
                       "\"upstream\": \"http://localhost:9000/app\", \"threads\": 3,"
                       "\"policy\": {\"version\": 7, \"consent_max_age_days\": 180},"
                       "\"categories\": [\"necessary\", \"stats\", \"ads\"],"
                       "\"regimes\": {\"default\": \"opt-out\", \"by_country\": {\"CN\": \"opt-in\", \"US-CA\": \"opt-out\", "
                       "\"EU\": \"opt-in\"}, \"gpc_refuses\": [\"ads\", \"stats\"]},"
                       "\"geoip\": {\"trusted_proxies\": [\"10.0.0.0/8\", \"::1\"]},"
                       "\"enforcement\": \"report-only\","
                       "\"cookies\": {\"unknown_category\": \"necessary\", \"overrides\": {\"sid\": \"necessary\", \"_x\": \"ads\"}},"
                       "\"beacons\": {\"endpoints\": [{\"path\": \"/collect\", \"category\": \"stats\"}], \"ping_category\": \"ads\"},"
                       "\"risk\": {\"lists\": [{\"name\": \"phish\", \"file\": \"phish.txt\", \"format\": \"domains\", "
                       "\"action\": \"warn\"}]}}";
    assert_int_equal(load(text, &c, err, sizeof(err)), 0);
    assert_int_equal(c.num_listen, 2);
    assert_string_equal(c.listen[1].host, "::1");
    assert_non_null(strstr(c.listen[1].tls_cert, "/cert.pem"));
    assert_int_equal(c.admin.listen.port, 9081);
    assert_int_equal(c.threads, 3);
    assert_int_equal(c.policy.version, 7);
    assert_int_equal(c.num_categories, 3);
    assert_int_equal(c.regimes.def, GW_REGIME_OPT_OUT);
    assert_int_equal(c.regimes.num_rules, 3);
    assert_int_equal(c.regimes.gpc_refuses, (1u << 2) | (1u << 1));
    assert_int_equal(c.geoip.num_trusted_proxies, 2);
    assert_int_equal(c.report_only, 1);
    assert_int_equal(c.cookies.unknown_category, 0);
    assert_int_equal(c.cookies.num_overrides, 2);
    assert_int_equal(c.beacons.ping_category, 2);
    assert_int_equal(c.beacons.endpoints[0].category, 1);
    assert_int_equal(c.risk.num_lists, 1);
    assert_int_equal(c.risk.lists[0].action, GW_RISK_WARN);
    gw_config_free(&c);
}

/* defaults naming categories follow a custom category list */
static void test_category_defaults_rebind(void **state)
{
    char err[1024];
    gw_config_t c;
    assert_int_equal(load("{" MIN ", \"categories\": [\"marketing\", \"necessary\"]}", &c, err, sizeof(err)), 0);
    assert_int_equal(c.cookies.unknown_category, 1); /* no "functional": necessary */
    assert_int_equal(c.regimes.gpc_refuses, 1u << 0);
    gw_config_free(&c);
}

static void test_shipped_config_is_valid(void **state)
{
    char err[1024];
    gw_config_t c;
    int rc = gw_config_load(&c, "conf/consentgate.json", err, sizeof(err));
    if (rc != 0)
        fail_msg("%s", err);
    gw_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_configs),        cmocka_unit_test(test_missing_files_name_the_file),
        cmocka_unit_test(test_syntax_error_column_never_0), cmocka_unit_test(test_directory_for_a_file),
        cmocka_unit_test(test_multiline_position), cmocka_unit_test(test_minimal_defaults),
        cmocka_unit_test(test_full_config),        cmocka_unit_test(test_category_defaults_rebind),
        cmocka_unit_test(test_shipped_config_is_valid), cmocka_unit_test(test_addresses_accepted),
    };
    return cmocka_run_group_tests_name("config", tests, setup, teardown);
}
