/* Unit tests for filters/consent_body.c: JSON and form bodies of POST /__consent/api/consent. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "consent_body.h"

#define LIT(s) (s), sizeof(s) - 1

static const char *const cats[] = {"necessary", "functional", "analytics", "marketing"};

typedef struct {
    const char *body;
    int rc;
    int all;
    uint16_t given, value;
    const char *detail; /* substring of the error */
} body_case_t;

static const body_case_t json_cases[] = {
    {"{\"all\": true}", 0, 1, 0, 0, NULL},
    {"{\"all\":false}", 0, 0, 0, 0, NULL},
    {" \n{ \"all\" : true } \n", 0, 1, 0, 0, NULL},
    {"{\"categories\": {\"analytics\": true, \"marketing\": false}}", 0, -1, 0xc, 0x4, NULL},
    {"{\"categories\": {}}", 0, -1, 0, 0, NULL},
    {"{\"categories\": {\"an\\u0061lytics\": true}}", 0, -1, 0x4, 0x4, NULL},
    {"{\"categories\": {\"ads\": true}}", -1, 0, 0, 0, "unknown category \"ads\""},
    {"{\"categories\": {\"analytics\": 1}}", -1, 0, 0, 0, "expected true or false"},
    {"{\"categories\": {\"analytics\": true, \"analytics\": false}}", -1, 0, 0, 0, "given twice"},
    {"{\"all\": true, \"categories\": {}}", -1, 0, 0, 0, "exactly one"},
    {"{}", -1, 0, 0, 0, "exactly one"},
    {"{\"all\": \"yes\"}", -1, 0, 0, 0, "\"all\" must be true or false"},
    {"{\"all\": true, \"all\": false}", -1, 0, 0, 0, "unexpected key \"all\""},
    {"{\"everything\": true}", -1, 0, 0, 0, "unexpected key \"everything\""},
    {"{\"all\": true} x", -1, 0, 0, 0, "trailing bytes"},
    {"[true]", -1, 0, 0, 0, "expected '{'"},
    {"{\"all\": tru}", -1, 0, 0, 0, "true or false"},
    {"{\"all\": true", -1, 0, 0, 0, "expected '}'"},
    {"{\"a\x01\": true}", -1, 0, 0, 0, "control character"},
    {"{\"a\x1f\": true}", -1, 0, 0, 0, "control character"},
    {"{\"\\u006", -1, 0, 0, 0, "truncated \\u escape"},
    /* a \u escape past ASCII is no letter of a category name (U+0161 is not 'a' with its high byte dropped) */
    {"{\"categories\": {\"\\u0161nalytics\": true}}", -1, 0, 0, 0, "unknown category"},
    /* a name longer than the buffer it is read into (GW_CONSENT_NAME_MAX) */
    {"{\"categories\": {\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": true}}", -1, 0, 0, 0,
     "unknown category"},
    {"{\"categories\": {\"analytics\\x\": true}}", -1, 0, 0, 0, "bad escape"},
    {"", -1, 0, 0, 0, "expected '{'"},
    {NULL, 0, 0, 0, 0, NULL} /* end of list */
};

static const body_case_t form_cases[] = {
    {"all=1", 0, 1, 0, 0, NULL},
    {"all=0", 0, 0, 0, 0, NULL},
    {"all=true&lang=zh-CN", 0, 1, 0, 0, NULL},
    {"all=on", 0, 1, 0, 0, NULL}, /* a checkbox's value */
    {"category=analytics&category=marketing&save=Save", 0, -1, 0xf, 0xc, NULL},
    {"category=an%61lytics", 0, -1, 0xf, 0x4, NULL},
    {"save=1", 0, -1, 0xf, 0, NULL},
    {"category=ads", -1, 0, 0, 0, "unknown category \"ads\""},
    {"all=1&category=analytics", -1, 0, 0, 0, "not both"},
    {"all=maybe", -1, 0, 0, 0, "must be 1 or 0"},
    {"all=1&all=0", -1, 0, 0, 0, "twice"},
    {"lang=en", -1, 0, 0, 0, "no choice given"},
    {"", -1, 0, 0, 0, "no choice given"},
    {"category=%4", -1, 0, 0, 0, "percent-escape"},
    {"category=%zz", -1, 0, 0, 0, "percent-escape"},
    {NULL, 0, 0, 0, 0, NULL} /* end of list */
};

typedef int (*parse_fn)(const char *, size_t, const char *const *, size_t, gw_consent_choice_t *, char *, size_t);

static void run_table(const body_case_t *cases, parse_fn parse)
{
    for (const body_case_t *c = cases; c->body != NULL; ++c) {
        gw_consent_choice_t ch;
        char detail[128];
        size_t len = strlen(c->body);
        char *buf = malloc(len != 0 ? len : 1); /* exactly sized: ASan catches any read past the end */
        memcpy(buf, c->body, len);
        int rc = parse(buf, len, cats, 4, &ch, detail, sizeof(detail));
        free(buf);
        if (rc != c->rc)
            fail_msg("\"%s\": rc %d, want %d (%s)", c->body, rc, c->rc, detail);
        if (rc == 0) {
            assert_int_equal(ch.all, c->all);
            if (c->all == -1) {
                assert_int_equal(ch.given, c->given);
                assert_int_equal(ch.value, c->value);
            }
        } else if (strstr(detail, c->detail) == NULL) {
            fail_msg("\"%s\": detail \"%s\" lacks \"%s\"", c->body, detail, c->detail);
        }
    }
}

static void test_json(void **state)
{
    run_table(json_cases, gw_consent_body_parse_json);
}

static void test_form(void **state)
{
    run_table(form_cases, gw_consent_body_parse_form);
}

/* withdraw=1: the preference centre's withdrawal without JavaScript (a form cannot send DELETE) */
static void test_form_withdraw(void **state)
{
    static const char *const bad[] = {"withdraw=1&all=0", "all=1&withdraw=1", "withdraw=1&category=analytics", "withdraw=1&save=1",
                                      "withdraw=0", "withdraw=", "withdraw=1&withdraw=1", NULL};
    gw_consent_choice_t ch;
    char detail[128];
    assert_int_equal(gw_consent_body_parse_form(LIT("lang=zh-CN&withdraw=1"), cats, 4, &ch, detail, sizeof(detail)), 0);
    assert_int_equal(ch.withdraw, 1);
    assert_int_equal(ch.all, -1);
    assert_int_equal(ch.given, 0);
    assert_int_equal(gw_consent_body_parse_form(LIT("all=0"), cats, 4, &ch, detail, sizeof(detail)), 0);
    assert_int_equal(ch.withdraw, 0);
    for (size_t i = 0; bad[i] != NULL; ++i)
        if (gw_consent_body_parse_form(bad[i], strlen(bad[i]), cats, 4, &ch, detail, sizeof(detail)) != -1)
            fail_msg("\"%s\" was taken", bad[i]);
}

/* every proper prefix of a valid JSON body is an error, never a different valid choice */
static void test_json_prefixes(void **state)
{
    static const char body[] = "{\"categories\": {\"analytics\": true, \"marketing\": false}}";
    for (size_t n = 0; n + 1 < sizeof(body); ++n) {
        gw_consent_choice_t ch;
        char detail[128];
        char *buf = malloc(n != 0 ? n : 1); /* exactly sized */
        memcpy(buf, body, n);
        int rc = gw_consent_body_parse_json(buf, n, cats, 4, &ch, detail, sizeof(detail));
        free(buf);
        assert_int_equal(rc, -1);
        assert_true(detail[0] != '\0');
    }
}

static void test_oversized(void **state)
{
    size_t len = GW_CONSENT_BODY_MAX + 1;
    char *buf = malloc(len);
    memset(buf, ' ', len);
    memcpy(buf, "{\"all\": true}", 13);
    gw_consent_choice_t ch;
    char detail[128];
    assert_int_equal(gw_consent_body_parse_json(buf, len, cats, 4, &ch, detail, sizeof(detail)), -1);
    assert_non_null(strstr(detail, "over"));
    assert_int_equal(gw_consent_body_parse_form(buf, len, cats, 4, &ch, detail, sizeof(detail)), -1);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_form),
        cmocka_unit_test(test_form_withdraw),
        cmocka_unit_test(test_json_prefixes),
        cmocka_unit_test(test_oversized),
    };
    return cmocka_run_group_tests_name("consent_body", tests, NULL, NULL);
}
