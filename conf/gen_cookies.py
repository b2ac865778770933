#!/usr/bin/env python3
"""Generate conf/cookies.json (cookie name -> consent category) from the Open Cookie Database.

Usage: conf/gen_cookies.py OPEN-COOKIE-DATABASE.json [-o conf/cookies.json] [--min-wildcard N]

Input: the Open Cookie Database JSON (https://github.com/jkwakman/Open-Cookie-Database,
Apache-2.0): {platform: [{"cookie", "category", "wildcardMatch", ...}, ...]}.
Output (read by filters/cookie_db.c, one entry per line, sorted by name for stable diffs):
  {"source": {...licence and provenance...}, "notes": [...],
   "cookies": [{"name": "_ga", "category": "analytics", "platform": "Google Analytics"},
               {"name": "_ga_*", "category": "analytics", "platform": "Google Analytics"}, ...]}
A name ending in '*' is a prefix: it matches every cookie name that starts with the part
before the '*', the bare prefix included (the database's wildcardMatch = "1": "_ga_"
covers "_ga_XYZ123").

Rules (also written into the output's "notes"):
  - categories: Necessary, Security -> necessary; Functional, Personalization ->
    functional; Analytics -> analytics; Marketing -> marketing. Any other category is an
    error, so a new upstream category cannot slip through unmapped.
  - but Functional -> necessary for SITE_PLATFORMS: the database's Functional is "technical,
    essential or strictly necessary" (its README; preferences are Personalization), and
    these platforms are the site's own software (language runtimes, frameworks, CMSs, shop
    systems, sign-in, load balancers and bot protection, consent managers): their sessions,
    carts, CSRF tokens and affinity cookies. Other platforms' Functional entries (Hotjar's
    "_hjSession_*", LinkedIn's "li_fat_id") stay functional: an analytics or advertising
    vendor's word that its cookie is essential is not taken.
  - NECESSARY names the site's own software sets that the database lacks ("csrftoken",
    Drupal's "SESS<hash>") or files under another platform whose cookie of that name lives
    on that platform's own domain (Instagram's "sessionid" is Django's session on the site's
    domain, Zendesk's "connect.sid" Express's): necessary, over the database's entry.
  - names are stripped of surrounding whitespace and of invisible format characters
    (the database has a tab and a soft hyphen in two names); empty names and names with
    ';', '=', ',', '"', '\\' or control characters (they cannot be cookie names) are dropped.
  - a name already ending in '*' is a prefix even when wildcardMatch is "0".
  - over-broad prefixes: a wildcard shorter than --min-wildcard bytes (default 4) that
    does not end in a separator ('_', '-', '.', ':') is kept as an exact name only.
    "_s*" or "cap*" would otherwise put a site's own "_session" or "captcha" cookies into
    analytics or marketing. --min-wildcard 0 keeps every wildcard.
  - a name listed under several categories gets the most restrictive one, in the order
    marketing > analytics > functional > necessary (the one a visitor is least likely to
    grant), so a disagreement in the database errs toward not forwarding the cookie.
    The platform kept is the alphabetically first among those with the chosen category.
  - SUPPLEMENT adds names the database lacks, read from the SDKs that set them (PostHog's
    "ph_<token>_posthog", Datadog RUM's "_dd_s_v2"); an entry of the database for the same pattern wins.
"""
import argparse
import hashlib
import json
import os
import sys
import unicodedata

CATEGORY_MAP = {
    "Necessary": "necessary",
    "Security": "necessary",
    "Functional": "functional",
    "Personalization": "functional",
    "Analytics": "analytics",
    "Marketing": "marketing",
}
# Platforms whose Functional entries (strictly necessary, in the database's own terms) are the site's own machinery:
# mapped to necessary, so a visitor's session, cart, sign-in and CSRF token work before any consent.
SITE_PLATFORMS = {
    # runtimes and frameworks
    "PHP.net", "J2EE", "ASP.net", "Laravel", "Django", "Rack", "Perl", "Adobe ColdFusion", "CodeIgniter", "CakePHP",
    "Devise (Ruby on Rails)", "Ruby on Rails", "Next.js", "Next", "NextAuth.js",
    # CMSs, forums and shop systems
    "WordPress", "Wordpress", "WooCommerce", "Drupal CMS", "Joomla!", "TYPO3", "CraftCMS", "Processwire", "Kentico",
    "Magento", "Shopify", "nopCommerce", "Intershop", "Lightspeed", "Xenforo", "vBulletin", "phpMyAdmin", "Plesk",
    # sign-in, payment fraud checks
    "Keycloak", "Auth0", "Stripe",
    # load balancers, CDNs, bot and spam protection
    "Amazon Web Services", "Cloudflare", "CloudFlare", "Akamai", "Akamai Botmanager", "Imperva", "f5 BIG-IP", "HAproxy",
    "NGINX Ingresss", "Alteon", "Citrix", "Datadome", "Vercel", "Google reCAPTCHA", "CleanTalk",
    # consent managers: the visitor's choice itself
    "Complianz", "Cookie Law Info", "Consentmanager.net", "CookieYes", "Cookiebot", "OneTrust", "Osano", "CookieConsent.io",
    "Axeptio", "Termly", "Didomi", "PrivacyPillar", "Enzuzo", "Cookie First", "Iubenda", "Borlabs", "Hu-manity.co", "Moove",
    "Cookie Script", "Jimdo",
}
# Names (and prefixes, '*') of the site's own software, necessary over whatever the database says of the name: it lacks
# them, or files them under a platform that sets that name on its own domain, never on the site's.
NECESSARY = [
    # Django (Instagram's "sessionid" is on instagram.com), Express and Koa (Zendesk's "connect.sid"), Flask and
    # cookie-session, Spring Session, Rails
    ("sessionid", "Django"), ("csrftoken", "Django"), ("connect.sid", "Express"), ("koa.sess", "Koa"),
    ("session", "Flask"), ("SESSION", "Spring Session"), ("_session_id", "Ruby on Rails"),
    ("__Host-session", "Flask"), ("__Secure-session", "Flask"), ("sid", "Koa / hapi"),
    # sign-in tokens (X's "auth_token" is on x.com, Adform's and Xandr's "token" on their own domains)
    ("auth_token", "sign-in"), ("token", "sign-in"), ("access_token", "sign-in"), ("refresh_token", "sign-in"),
    ("jwt", "sign-in"),
    ("PLAY_SESSION", "Play Framework"), ("CFID", "Adobe ColdFusion"), ("CFTOKEN", "Adobe ColdFusion"),
    # ASP.NET Core, ASP.NET, Azure's affinity cookies
    (".AspNetCore.*", "ASP.NET Core"), (".ASPXAUTH", "ASP.NET"), ("ASP.NET_SessionId", "ASP.NET"),
    ("__RequestVerificationToken", "ASP.NET"), ("ASPSESSIONID*", "Classic ASP"), ("ARRAffinity", "Azure App Service"),
    ("ARRAffinitySameSite", "Azure App Service"), ("ApplicationGatewayAffinity", "Azure Application Gateway"),
    ("ApplicationGatewayAffinityCORS", "Azure Application Gateway"),
    # CSRF tokens (Angular's, Tornado's and Jupyter's, others)
    ("XSRF-TOKEN", "Angular"), ("XSRF_TOKEN", "Laravel"), ("_xsrf", "Tornado"), ("csrf_token", "Flask-WTF"),
    ("_csrf", "csurf"),
    # WordPress's sign-in ("wordpress_<hash>", "wordpress_sec_<hash>"), WooCommerce's cart, Drupal's session
    ("wordpress_*", "WordPress"), ("wc_cart_hash_*", "WooCommerce"), ("SESS*", "Drupal CMS"), ("SSESS*", "Drupal CMS"),
    # NextAuth.js and Auth.js behind __Secure- and __Host- (the database has "next-auth.*")
    ("__Secure-next-auth.*", "NextAuth.js"), ("__Host-next-auth.*", "NextAuth.js"), ("authjs.*", "Auth.js"),
    ("__Secure-authjs.*", "Auth.js"), ("__Host-authjs.*", "Auth.js"),
    # Shopify's cart (lower case), OpenCart, PrestaShop, Magento's form key
    ("cart", "Shopify"), ("secure_customer_sig", "Shopify"), ("OCSESSID", "OpenCart"), ("PrestaShop-*", "PrestaShop"), ("form_key", "Magento"),
    # self-hosted applications
    ("_gitlab_session", "GitLab"), ("known_sign_in", "GitLab"), ("jupyterhub-session-id", "JupyterHub"),
    ("_mastodon_session", "Mastodon"), ("_forum_session", "Discourse"),
    ("_t", "Discourse"), ("oc_sessionPassphrase", "Nextcloud"), ("nc_sameSiteCookielax", "Nextcloud"),
    ("nc_sameSiteCookiestrict", "Nextcloud"), ("nc_username", "Nextcloud"), ("nc_token", "Nextcloud"),
    ("nc_session_id", "Nextcloud"), ("grafana_session", "Grafana"), ("grafana_session_expiry", "Grafana"),
    ("i_like_gitea", "Gitea"), ("_oauth2_proxy", "OAuth2 Proxy"), ("remember_web_*", "Laravel"),
    ("SimpleSAMLSessionID", "SimpleSAMLphp"), ("SimpleSAMLAuthToken", "SimpleSAMLphp"), ("_shibsession_*", "Shibboleth"),
    ("ROUTEID", "Apache mod_proxy_balancer"), ("TS01*", "f5 BIG-IP ASM"), ("datadome", "Datadome"),
]
# most restrictive first: wins when one name has several categories
STRICTNESS = ["marketing", "analytics", "functional", "necessary"]
SEPARATORS = "_-.:"
# Names the database lacks, read from the SDKs that set them (pattern, category, platform). A database entry
# for the same pattern wins: these only fill gaps, which the unknown category would otherwise decide (functional is
# granted by visitors who refuse analytics).
SUPPLEMENT = [
    # posthog-js 1.449.2 persists its distinct and session ids in "ph_" + token + "_posthog" (a project token starts
    # with "phc_"); set by the page's script, so the gateway can only expire it and keep it from the origin
    ("ph_phc_*", "analytics", "PostHog"),
    # @datadog/browser-rum 7.16.2 keeps its RUM session in "_dd_s_v2" ("_dd_s" before; browser-core's
    # SESSION_STORE_KEY); the SDK itself waits for consent when told to (trackingConsent)
    ("_dd_s", "analytics", "Datadog"),
    ("_dd_s_v2", "analytics", "Datadog"),
]
FORBIDDEN = set(';=,"\\')


def clean_name(raw):
    name = "".join(ch for ch in raw if unicodedata.category(ch) != "Cf").strip()
    if not name or any(ch in FORBIDDEN or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        return None
    return name


def generate(db, min_wildcard, input_sha256):
    chosen = {}  # pattern -> (category, platform)
    stats = {"entries": 0, "dropped_bad_name": 0, "narrowed_wildcards": 0}
    narrowed = []
    conflicts = set()
    for platform in sorted(db):
        for e in db[platform]:
            stats["entries"] += 1
            cat_in = e.get("category")
            if cat_in not in CATEGORY_MAP:
                raise SystemExit("unknown Open Cookie Database category %r (platform %r)" % (cat_in, platform))
            cat = "necessary" if cat_in == "Functional" and platform in SITE_PLATFORMS else CATEGORY_MAP[cat_in]
            name = clean_name(e.get("cookie", ""))
            if name is None:
                stats["dropped_bad_name"] += 1
                continue
            wildcard = str(e.get("wildcardMatch", "0")) == "1" or name.endswith("*")
            base = name.rstrip("*")
            if not base:
                stats["dropped_bad_name"] += 1
                continue
            if wildcard and len(base.encode()) < min_wildcard and base[-1] not in SEPARATORS:
                narrowed.append(base)
                stats["narrowed_wildcards"] += 1
                wildcard = False
            pattern = base + "*" if wildcard else base
            old = chosen.get(pattern)
            if old is None:
                chosen[pattern] = (cat, platform)
            elif old[0] != cat:
                conflicts.add(pattern)
                if STRICTNESS.index(cat) < STRICTNESS.index(old[0]):
                    chosen[pattern] = (cat, platform)
            # same category: keep the alphabetically first platform (platforms are visited sorted)
    necessary = []
    for pattern, platform in NECESSARY:
        if chosen.get(pattern, ("",))[0] != "necessary":
            chosen[pattern] = ("necessary", platform)
            necessary.append(pattern)
    supplemented = []
    for pattern, cat, platform in SUPPLEMENT:
        if pattern not in chosen:
            chosen[pattern] = (cat, platform)
            supplemented.append(pattern)

    cookies = [{"name": p, "category": c, "platform": pl} for p, (c, pl) in sorted(chosen.items(), key=lambda kv: kv[0].encode())]
    source = {
        "name": "Open Cookie Database",
        "url": "https://github.com/jkwakman/Open-Cookie-Database",
        "licence": "Apache-2.0",
        "copy": "npm @slashgear/gdpr-cookie-scanner@3.8.2, src/data/open-cookie-database.json",
        "input_sha256": input_sha256,
        "generated_by": "conf/gen_cookies.py",
    }
    notes = [
        "Generated file: edit conf/gen_cookies.py or use cookies.overrides in consentgate.json instead.",
        "A name ending in '*' matches every cookie name starting with the part before it; exact names beat "
        "prefixes, longer prefixes beat shorter ones, operator overrides beat everything.",
        "Category mapping: %s; but Functional -> necessary for the site's own software (gen_cookies.py SITE_PLATFORMS: "
        "the database's Functional is strictly necessary), %d platforms." % (", ".join("%s -> %s" % kv for kv in CATEGORY_MAP.items()),
                                                                           len(SITE_PLATFORMS)),
        "Necessary over the database (gen_cookies.py NECESSARY: the site's own software's names, which the database lacks "
        "or files under a platform that sets them on its own domain): %s." % (", ".join(necessary) or "none"),
        "A name listed under several categories gets the most restrictive: %s (%s)."
        % (" > ".join(STRICTNESS), ", ".join(sorted(conflicts)) or "none"),
        "Wildcards shorter than %d bytes not ending in one of '%s' are exact names only: %s."
        % (min_wildcard, SEPARATORS, ", ".join(sorted(set(narrowed))) or "none"),
        "Added where the database has no entry (from the SDKs' source, gen_cookies.py SUPPLEMENT): %s."
        % (", ".join(supplemented) or "none"),
        "Input %d entries; %d dropped (unusable names); %d names with conflicting categories; %d patterns written."
        % (stats["entries"], stats["dropped_bad_name"], len(conflicts), len(cookies)),
    ]
    return source, notes, cookies


def render(source, notes, cookies):
    out = ['{\n  "source": ', json.dumps(source, sort_keys=False), ',\n  "notes": [\n']
    out.append(",\n".join("    " + json.dumps(n) for n in notes))
    out.append('\n  ],\n  "cookies": [\n')
    out.append(",\n".join("    " + json.dumps(c) for c in cookies))
    out.append("\n  ]\n}\n")
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", help="open-cookie-database.json")
    ap.add_argument("-o", "--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "cookies.json"))
    ap.add_argument("--min-wildcard", type=int, default=4, help="shortest prefix kept as a wildcard without a separator")
    args = ap.parse_args()
    with open(args.input, "rb") as f:
        raw = f.read()
    db = json.loads(raw)
    if not isinstance(db, dict):
        raise SystemExit("%s: expected an object of platforms" % args.input)
    source, notes, cookies = generate(db, args.min_wildcard, hashlib.sha256(raw).hexdigest())
    text = render(source, notes, cookies)
    tmp = args.output + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, args.output)
    print("%s: %d patterns (%s)" % (args.output, len(cookies), notes[-1]), file=sys.stderr)


if __name__ == "__main__":
    main()
