/* libFuzzer driver: consent API bodies, JSON and form. A successful parse only names configured categories; a form's
 * withdrawal names none. */
#include <stddef.h>
#include <stdint.h>
#include "consent_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const cats[] = {"necessary", "functional", "analytics", "marketing"};
    gw_consent_choice_t ch;
    char detail[128];
    if (gw_consent_body_parse_json((const char *)data, size, cats, 4, &ch, detail, sizeof(detail)) == 0 &&
        ((ch.given & ~0xfu) != 0 || (ch.value & ~ch.given) != 0 || (ch.all != -1 && ch.given != 0)))
        __builtin_trap();
    if (gw_consent_body_parse_form((const char *)data, size, cats, 4, &ch, detail, sizeof(detail)) == 0 &&
        ((ch.given & ~0xfu) != 0 || (ch.value & ~ch.given) != 0 || (ch.withdraw && (ch.all != -1 || ch.given != 0))))
        __builtin_trap();
    return 0;
}
