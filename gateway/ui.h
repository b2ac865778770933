/*
 * ui — the consent UI's server-rendered pages, in the visitor's language.
 *
 *   GET /__consent/                 preference centre: every category with its description, the
 *                                   cookies and trackers the gateway has actually seen in it, the
 *                                   visitor's current choices and the policy version; a plain form
 *                                   (POST /__consent/api/consent), so it works without JavaScript
 *   GET /__consent/receipts         the visitor's consent records (filled in by receipts.js from
 *                                   /__consent/api/receipts), download link, erase button
 *   GET /__consent/i18n/strings.json   the strings of the negotiated language, English filled in
 *   GET /__consent/i18n/<lang>.json    where a language lacks one, for banner.js
 *   warning (200), blocked (403) and refused pages for other handlers (the link shim)
 *
 * Pages are templates in static/templates/ filled with strings from static/i18n/<lang>.json
 * ({{key}} a string, {{$var}} a value, {{#s}}…{{/s}} a repeated or optional section,
 * {{^s}}…{{/s}} its negation, {{>file}} another template); everything inserted is HTML-escaped.
 * Templates and strings are read once by gw_ui_register() (jansson at start-up only); the
 * request path renders into req->pool, takes no lock and touches no JSON library.
 *
 * Language: ?lang=<code> (remembered in the cookie cg_lang, Path=/__consent, so that it never
 * reaches the origin), then that cookie, then Accept-Language, then English. A string missing
 * in a language falls back to English.
 */
#ifndef GW_UI_H
#define GW_UI_H

#include <h2o.h>
#include "jsonw.h"

/*
 * An operator's override of one UI string (config "ui.strings": {"<lang>": {"<key>": "<text>"}}). Copies
 * the strings. A language that static/i18n/ does not ship is added (English fills its gaps). Call before
 * gw_ui_register(). Returns 0, or -1 when lang or key is empty or too long (lang > 15 bytes, key > 63).
 */
int gw_ui_override(const char *lang, const char *key, const char *value);

/* Puts ETag etag (quoted) on the answer; when the request's If-None-Match names it (W/ too) or is "*", answers 304
 * and returns 1, else returns 0 (the caller sends the 200). */
int gw_ui_send_not_modified(h2o_req_t *req, const char *etag);

/*
 * Whether key is a string an operator may set in ui.strings though static/i18n/en.json lacks it: the label and
 * description of a category of their own (`category.<name>.title`, `category.<name>.desc`, name one of the config's
 * categories). en.json names the four standard ones only.
 */
int gw_ui_is_category_key(const char *key);

/*
 * Loads static/templates/ and static/i18n/ (gw_rt.static_dir) and adds the UI handler to pc, the
 * "/__consent" path, before its file handler: requests the UI does not render fall through to the
 * next handler (static files). Returns 0, or -1 (logged) when a template or string file is broken.
 */
int gw_ui_register(h2o_pathconf_t *pc);

/* Reads the UI's strings as gw_ui_register() does, with the warnings it gives (a category without words, no
 * policy.url), for --check-config. 0, or -1 (logged). */
int gw_ui_check(const char *static_dir);

/* The UI string `key` in the language the request prefers (the cg_lang cookie, then Accept-Language; no ?lang=, which
 * would set the cookie), falling back to English; *lang (may be NULL) gets that language's code. NULL when the strings
 * are not loaded or no language has the key. Lives as long as the process. */
const char *gw_ui_text(h2o_req_t *req, const char *key, const char **lang);
/* gw_ui_text by Accept-Language alone: for a request whose header fields are too many to be read through (a 431) */
const char *gw_ui_text_accepted(h2o_req_t *req, const char *key, const char **lang);

/*
 * Appends to w, for an HTML page's injected UI, a link to the preference centre (which works without JavaScript) for
 * visitors who run no scripts, so get no banner and no "Privacy choices" button: <noscript><a id="cg-nojs" …>, its
 * label banner.reopen in the request's language (gw_ui_text's answer and *lang, which the caller has already: it puts
 * the same label in the page's state). A browser that runs scripts reads a <noscript> as text; one that does not,
 * meeting it in the head, starts the body with the link. Nothing for a page loaded in a frame (Sec-Fetch-Dest other
 * than document) or without a label (the strings not loaded).
 */
void gw_ui_nojs_link(h2o_req_t *req, gw_jsonw_t *w, const char *label, const char *lang);

/*
 * The interstitial of a link on a `warn` list: 200, the destination's host and full address shown as
 * escaped text (control and bidi characters percent-encoded), never as a link; list_name and reason
 * (may be NULL) shown escaped; a "continue" link to continue_href only (the caller's signed link: it
 * must start with "/" (not "//") or "http://" / "https://", else no continue link is shown). url need
 * not be NUL-terminated; the other strings are. Sends the response.
 */
void gw_ui_send_warning(h2o_req_t *req, const char *url, size_t len, const char *list_name, const char *reason,
                        const char *continue_href);

/* The page of a link on a `block` list: 403, as the warning page but with no way on. Sends the response. */
void gw_ui_send_blocked(h2o_req_t *req, const char *url, size_t len, const char *list_name, const char *reason);

/*
 * A page for a refused request (status and reason as in the status line, e.g. 400 "Bad Request"). what names
 * the strings refused.<what>.title / .text ("bad_link", "cross_site"); NULL or unknown: a generic text.
 * Sends the response.
 */
void gw_ui_send_refused(h2o_req_t *req, int status, const char *reason, const char *what);

/* A method other than GET and HEAD at a page that is only read: 405 naming them (RFC 9110 15.5.6), with the refused
 * page. Sends the response. */
void gw_ui_send_read_only(h2o_req_t *req);

#endif
