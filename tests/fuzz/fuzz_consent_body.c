/* libFuzzer driver: consent API bodies, JSON and form. A successful parse only names configured categories; a form's
 * withdrawal names none.
 * The JSON reader agrees with jansson (duplicate keys refused) on the bodies the contract allows: what it takes,
 * jansson reads as {"all": bool} or {"categories": {configured name: bool, …}} with the same values; and what jansson
 * reads as such a body under the size cap, it takes. (It may refuse more than jansson elsewhere: numbers, null, other
 * keys, NUL bytes.) */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "consent_body.h"

static const char *const cats[] = {"necessary", "functional", "analytics", "marketing"};

/* reads a jansson value as a consent body: 0 and *out, or -1 if it is not one */
static int
ref_body(json_t *root, gw_consent_choice_t *out)
{
    *out = (gw_consent_choice_t){-1, 0, 0};
    if (!json_is_object(root) || json_object_size(root) != 1)
        return -1;
    json_t *all = json_object_get(root, "all"), *c = json_object_get(root, "categories");
    if (all != NULL) {
        if (!json_is_boolean(all))
            return -1;
        out->all = json_is_true(all);
        return 0;
    }
    if (!json_is_object(c))
        return -1;
    const char *k;
    json_t *v;
    json_object_foreach(c, k, v)
    {
        int i = -1;
        for (int j = 0; j != 4; ++j)
            if (strcmp(k, cats[j]) == 0)
                i = j;
        if (i < 0 || !json_is_boolean(v))
            return -1;
        out->given |= (uint16_t)(1u << i);
        if (json_is_true(v))
            out->value |= (uint16_t)(1u << i);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_consent_choice_t ch, ref;
    char detail[128];
    int ours = gw_consent_body_parse_json((const char *)data, size, cats, 4, &ch, detail, sizeof(detail));
    if (ours == 0 && ((ch.given & ~0xfu) != 0 || (ch.value & ~ch.given) != 0 || (ch.all != -1 && ch.given != 0)))
        __builtin_trap();
    if (ours != 0 && (detail[0] == '\0' || memchr(detail, '\0', sizeof(detail)) == NULL))
        __builtin_trap(); /* a refusal says why */

    json_error_t err;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
    int theirs = root != NULL ? ref_body(root, &ref) : -1;
    json_decref(root);
    if (ours == 0 && (theirs != 0 || ref.all != ch.all || ref.given != ch.given || ref.value != ch.value))
        __builtin_trap(); /* took a body jansson reads otherwise, or not at all */
    /* (jansson 2.14 reads a NUL byte after true or false as the keyword's end and takes {"all": true<NUL>}: RFC 8259
     * does not, nor do we) */
    if (ours != 0 && theirs == 0 && size <= GW_CONSENT_BODY_MAX && memchr(data, '\0', size) == NULL)
        __builtin_trap(); /* refused a body the contract allows */

    if (gw_consent_body_parse_form((const char *)data, size, cats, 4, &ch, detail, sizeof(detail)) == 0 &&
        ((ch.given & ~0xfu) != 0 || (ch.value & ~ch.given) != 0 || (ch.withdraw && (ch.all != -1 || ch.given != 0))))
        __builtin_trap();
    return 0;
}
