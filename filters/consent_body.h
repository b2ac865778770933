/*
 * consent_body — the body of POST /__consent/api/consent, as JSON or as a form.
 *
 * JSON (application/json): exactly one of
 *     {"all": true} | {"all": false} | {"categories": {"analytics": true, "marketing": false}}
 * Categories left out of "categories" keep the visitor's current choice (the caller
 * decides what "current" is). Any other key, value type or category name is an error.
 *
 * Form (application/x-www-form-urlencoded), for the preference centre without JavaScript:
 *     all=1 | all=0                      accept / reject everything
 *     category=analytics&category=…      the categories ticked; every other one is refused
 *     withdraw=1                         withdraw consent (what DELETE does: a form cannot send DELETE)
 * Other form fields (submit buttons, "lang") are ignored; unknown category names are errors.
 *
 * Pure, bounded (GW_CONSENT_BODY_MAX bytes), no allocation; fuzzed.
 */
#ifndef GW_CONSENT_BODY_H
#define GW_CONSENT_BODY_H

#include <stddef.h>
#include <stdint.h>

#define GW_CONSENT_BODY_MAX 4096
#define GW_CONSENT_NAME_MAX 64

typedef struct st_gw_consent_choice_t {
    int all;        /* -1: not given; 0: reject all; 1: accept all */
    uint16_t given; /* categories named in the body */
    uint16_t value; /* for each given category: 1 granted, 0 refused */
    int withdraw;   /* form only: withdraw=1 (then all is -1 and nothing is given) */
} gw_consent_choice_t;

/*
 * Parses s[0..len). `categories` are the configured names (index = bit). Returns 0 and fills
 * *out, or -1 with a one-line reason in detail[0..detail_len) (always NUL-terminated).
 */
int gw_consent_body_parse_json(const char *s, size_t len, const char *const *categories, size_t ncategories,
                               gw_consent_choice_t *out, char *detail, size_t detail_len);
int gw_consent_body_parse_form(const char *s, size_t len, const char *const *categories, size_t ncategories,
                               gw_consent_choice_t *out, char *detail, size_t detail_len);

#endif
