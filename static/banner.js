/*
 * consentgate banner: injected by the gateway into every HTML page, with the visitor's
 * consent state inline (<script type="application/json" id="cg-state">). Shows the consent
 * dialog (opt-in, opt-out) or a dismissible notice (notice regime) while no decision is
 * recorded; posts the decision to /__consent/api/consent; releases the tags the gateway
 * made inert (data-cg-src, data-cg-srcset, data-cg-href, data-cg-ping, data-cg-style, inline
 * scripts and style sheets of type text/plain) for the categories just granted, without a reload. A refusal of
 * something already running, and a withdrawal, reload the page instead.
 * Strings: /__consent/i18n/strings.json (the gateway picks the language). First-party only.
 * A page without a data-cg-open control gets a small "privacy choices" button (#cg-reopen) while no dialog is shown.
 * Page hooks: elements with data-cg-open (open the choices) or data-cg-withdraw, and
 * window.consentgate = {open(), withdraw(), state()}; "consentgate:change" events on document.
 */
(function (banner) {
    'use strict';
    /* an XHTML page runs this deferred script as soon as it is read, before the page's state after it (Chromium's XML
       parser does not defer): the banner then starts once the page is read */
    var me = document.currentScript;
    if (document.readyState === 'loading')
        document.addEventListener('DOMContentLoaded', function () { banner(me); });
    else
        banner(me);
})(function (me) {
    'use strict';
    /* the gateway's own URLs are absolute: a page's <base href> must not send them elsewhere */
    var d = document, w = window, O = location.origin, API = O + '/__consent/api/consent';
    var stateEl = d.getElementById('cg-state');
    if (w.top !== w) return; /* in a frame: the top page asks */
    var nonce = (me && me.nonce) || '';
    /* only elements this response made inert carry its release token: markup imitating them is never turned on */
    var RELEASE = (me && me.getAttribute('data-cg-r')) || '';
    if (!nonce) {
        var any = d.querySelector('script[nonce]');
        nonce = any ? any.nonce || any.getAttribute('nonce') || '' : '';
    }
    var state;
    try {
        state = JSON.parse(stateEl.textContent);
    } catch (e) {
        return;
    }
    var S = {}, info = {languages: [], dnss: []}, root = null, box = null, view = 'main', lastFocus = null, busy = false, busyFrom = null;

    function t(k, vars) {
        var s = S[k] != null ? S[k] : k;
        return vars ? s.replace(/\{(\w+)\}/g, function (m, n) { return n in vars ? vars[n] : m; }) : s;
    }
    function h(tag, attrs, kids) {
        var e = d.createElement(tag);
        for (var k in attrs || {}) {
            if (k === 'text') e.textContent = attrs[k];
            else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), attrs[k]);
            else if (attrs[k] !== false && attrs[k] != null) e.setAttribute(k, attrs[k] === true ? '' : attrs[k]);
        }
        (kids || []).forEach(function (c) { if (c) e.appendChild(c); });
        return e;
    }
    function cats() { return Object.keys(state.categories); }
    function title(c) { return S['category.' + c + '.title'] || c; }
    function list(cs) { return cs.map(title).join(t('list.separator')); }
    /* the direction of a language's script: set on everything the banner adds, which the host page's dir would
       otherwise turn round (an English banner on a dir="rtl" page: buttons reversed, full stops at the start) */
    var RTL = /^(ar|ckb|dv|fa|he|ps|sd|ug|ur|yi)(-|$)|-(arab|hebr|thaa|syrc|nkoo|adlm)(-|$)/i;
    function dir(code) { return RTL.test(code || '') ? 'rtl' : 'ltr'; }
    /* the notice and the reopen button are not modal (the modal dialog is shown so): as manual popovers they are in
       the top layer too, above a page's own fixed elements whatever their z-index (a chat widget's 2147483647) */
    function top(e, on) {
        if (!e.showPopover || e.matches(':popover-open') === on) return;
        on ? e.showPopover() : e.hidePopover();
    }
    function store(k, v) { try { v == null ? sessionStorage.removeItem(k) : sessionStorage.setItem(k, v); } catch (e) { /* private mode */ } }
    function stored(k) { try { return sessionStorage.getItem(k); } catch (e) { return null; } }

    /* --- releasing inert tags ------------------------------------------------------------- */
    var MOVE = [['data-cg-srcset', 'srcset'], ['data-cg-imagesrcset', 'imagesrcset'], ['data-cg-src', 'src'], ['data-cg-href', 'href'], ['data-cg-ping', 'ping'],
                ['data-cg-data', 'data'], ['data-cg-poster', 'poster'], ['data-cg-xlink-href', 'xlink:href'],
                ['data-cg-style', 'style'], ['data-cg-background', 'background'], ['data-cg-fill', 'fill'], ['data-cg-stroke', 'stroke'],
                ['data-cg-mask', 'mask'], ['data-cg-clip-path', 'clip-path'], ['data-cg-marker-start', 'marker-start'],
                ['data-cg-marker-mid', 'marker-mid'], ['data-cg-marker-end', 'marker-end'], ['data-cg-cursor', 'cursor'],
                ['data-cg-filter', 'filter'], ['data-cg-data-src', 'data-src'], ['data-cg-data-lazy-src', 'data-lazy-src']];
    /* inert event handlers back (refused by Trusted Types: stay inert) */
    var ON = /^data-cg-on./i;
    function handlers(e) {
        for (var k = e.attributes.length - 1, a; k >= 0; k--) {
            if (!ON.test((a = e.attributes[k]).name)) continue;
            try { e.setAttribute(a.name.slice(8), a.value); e.removeAttribute(a.name); } catch (x) { }
        }
    }
    /* a held frame's URL: its src, or the one a lazy loader's script was to make its src (data-src, data-lazy-src) */
    var HELD = 'iframe[data-cg-src], iframe[data-cg-data-src], iframe[data-cg-data-lazy-src]';
    function heldURL(f) {
        return f.getAttribute('data-cg-src') || f.getAttribute('data-cg-data-src') || f.getAttribute('data-cg-data-lazy-src');
    }
    /* a copy of an inert script or style sheet, which runs or applies (the inert one never will): its own attributes,
       its original type, its own nonce: the gateway's, or the origin's when the origin's own policy let it in by that
       (the banner then carries the origin's: an element the origin did not nonce must not get it) */
    function revive(e) {
        /* (localName: an XHTML page's <h:script> is a script, whose tagName "h:script" createElement takes as a name) */
        var c = d.createElement(e.localName), type = e.getAttribute('data-cg-type');
        for (var k = 0; k < e.attributes.length; k++) {
            var a = e.attributes[k];
            if (a.name !== 'type' && a.name !== 'nonce' && a.name.indexOf('data-cg-') !== 0) c.setAttribute(a.name, a.value);
            else if (ON.test(a.name)) c.setAttribute(a.name.slice(8), a.value);
        }
        if (type) c.setAttribute('type', type);
        var own = e.nonce || e.getAttribute('nonce') || nonce;
        if (own) c.nonce = own;
        return c;
    }
    /* a page that requires Trusted Types (require-trusted-types-for 'script') refuses a plain string as a script's
       text or URL: the released scripts are the page's own, so they go through a policy of the banner's (made when
       first needed). Where the page's trusted-types directive does not allow it, release throws and decide reloads */
    var policy;
    function trusted(text, url) {
        if (policy === undefined) {
            policy = null;
            try {
                var same = function (x) { return x; };
                if (w.trustedTypes) policy = w.trustedTypes.createPolicy('consentgate', {createScript: same, createScriptURL: same});
            } catch (e) { /* not allowed */ }
        }
        return !policy ? text : url ? policy.createScriptURL(text) : policy.createScript(text);
    }
    /* the file an inert script loads: an HTML script's src; an SVG script's href, else xlink:href (src means nothing
       there), inert or not (the copy, an HTML script, takes it as src) */
    function file(e) {
        if (e.namespaceURI !== 'http://www.w3.org/2000/svg') return e.getAttribute('data-cg-src');
        var names = ['data-cg-href', 'href', 'data-cg-xlink-href', 'xlink:href'];
        for (var k = 0; k < names.length; k++) if (e.getAttribute(names[k])) return e.getAttribute(names[k]);
        return null;
    }
    /* the elements sel matches in the page and in every open shadow root in it: a declarative shadow root's markup
       (<template shadowrootmode>) is rewritten as the page's is, so its inert tags wait for consent too */
    function every(sel) {
        var out = Array.prototype.slice.call(d.querySelectorAll(sel));
        (function walk(root) {
            root.querySelectorAll('*').forEach(function (e) {
                if (!e.shadowRoot) return;
                out.push.apply(out, e.shadowRoot.querySelectorAll(sel));
                walk(e.shadowRoot);
            });
        })(d);
        return out;
    }
    /* the categories an inert element waits for: every one the lists give it (data-cg-needs), else its category */
    function needed(e) {
        return (e.getAttribute('data-cg-needs') || e.getAttribute('data-cg-category') || '').split(' ');
    }
    function release(granted) {
        var els = every('[data-cg-category]');
        for (var i = 0; i < els.length; i++) {
            var e = els[i];
            if (!RELEASE || e.getAttribute('data-cg-r') !== RELEASE) continue;
            /* its category just granted; named by several tracker lists (data-cg-needs), every category they give it
             * granted now and one of them just now */
            var needs = needed(e), now = false;
            for (var k = 0; k < needs.length && needs[k] && state.categories[needs[k]]; k++) now = now || !!granted[needs[k]];
            if (!now || k !== needs.length) continue;
            /* (localName: an XHTML page's tagName is not upper case) */
            if (e.localName === 'script') {
                /* a script only runs if it is a new element */
                var s = revive(e), src = file(e);
                if (src) {
                    if (!e.hasAttribute('async')) s.async = false; /* keep document order */
                    s.src = trusted(src, true);
                } else {
                    s.text = trusted(e.textContent);
                }
                e.parentNode.replaceChild(s, e);
            } else if (e.localName === 'style') {
                var st = revive(e);
                st.textContent = e.textContent;
                e.parentNode.replaceChild(st, e);
            } else {
                /* (a srcdoc wins over src: the placeholder goes first) */
                if (e.hasAttribute('data-cg-placeholder')) {
                    e.removeAttribute('srcdoc');
                    e.removeAttribute('data-cg-placeholder');
                }
                /* (the lazy loader has been and gone: the frame loads its URL now) */
                var lazy = e.localName === 'iframe' && !e.hasAttribute('data-cg-src') && heldURL(e);
                MOVE.forEach(function (m) {
                    if (!e.hasAttribute(m[0])) return;
                    /* (SVG reads xlink:href in its namespace only) */
                    if (m[1] === 'xlink:href') e.setAttributeNS('http://www.w3.org/1999/xlink', m[1], e.getAttribute(m[0]));
                    else e.setAttribute(m[1], e.getAttribute(m[0]));
                    e.removeAttribute(m[0]);
                });
                if (lazy) e.setAttribute('src', lazy);
                handlers(e);
                /* (a <video> or <audio> that found no <source> waits for a new one, not for a src set later) */
                var media = e.parentNode;
                if (e.localName === 'source' && media.load && !media.currentSrc) media.load();
                e.removeAttribute('data-cg-category');
                e.removeAttribute('data-cg-needs');
                e.removeAttribute('data-cg-r');
            }
        }
    }

    /* the dialog closed and the tags released; false when the page refused one (its Trusted Types) */
    function released(granted) {
        close();
        try {
            release(granted);
            return true;
        } catch (e) {
            return false;
        }
    }

    /* --- frames waiting for consent --------------------------------------------------------- */
    /* A frame the gateway made inert (a video, a map, a social post, whose site sets its own cookies) would be an empty
       box with no word of why: it shows, in its own box, what it is and one button that allows what it needs. The
       placeholder is a srcdoc document: the page's layout keeps the frame's size and the host page's style does not
       reach it, and it has the page's origin, so its button is the banner's to wire (no script runs in it). Released,
       the frame drops it and loads its URL. A frame with a srcdoc of its own gets none; one sandboxed away from the
       page's origin (its document is then out of the banner's reach) says what it is, with no button. Its <title>
       says it too: a screen reader names the frame's document by it (WCAG 2.4.2). */
    function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); }
    /* what a held frame still needs: a choice made since may have granted some of it */
    function needsOf(f) {
        return needed(f).filter(function (c) { return c in state.categories && !state.categories[c]; });
    }
    var wired = new WeakSet();
    /* (again for a frame that has one: a choice or a language since changes what it says) */
    function placeholder(f) {
        if (!RELEASE || f.getAttribute('data-cg-r') !== RELEASE || (f.hasAttribute('srcdoc') && !f.hasAttribute('data-cg-placeholder')))
            return;
        var reach = !f.hasAttribute('sandbox') || f.sandbox.contains('allow-same-origin');
        var needs = needsOf(f), host;
        try { host = new URL(heldURL(f), location.href).host; } catch (e) { return; }
        if (!needs.length || !host) return;
        var lang = info.lang || 'en', names = list(needs), text = t('embed.text', {host: host, categories: names});
        f.setAttribute('data-cg-placeholder', '');
        if (!wired.has(f)) {
            wired.add(f);
            f.addEventListener('load', function () {
                var b = f.hasAttribute('data-cg-placeholder') && f.contentDocument && f.contentDocument.getElementById('cg-embed-allow');
                if (b) b.addEventListener('click', function () {
                    var c = {};
                    needsOf(f).forEach(function (n) { c[n] = true; });
                    decide({categories: c}, 'banner.saved');
                });
            });
        }
        /* (no nonce in it: an attribute's text is there for CSS selectors to read; under a policy that lets style
           sheets in by nonce only, the placeholder is plain text and a plain button) */
        f.srcdoc = '<!DOCTYPE html><html lang="' + esc(lang) + '" dir="' + dir(lang) + '"><head><meta charset="utf-8">' +
            '<title>' + esc(text) + '</title><link rel="stylesheet" href="' + esc(O + '/__consent/banner.css') + '"></head>' +
            '<body id="cg-embed"><p>' + esc(text) + '</p>' +
            (reach ? '<p><button type="button" id="cg-embed-allow">' + esc(t('embed.allow', {categories: names})) + '</button></p>' : '') +
            '</body></html>';
    }
    function placeholders() {
        every(HELD).forEach(placeholder);
    }
    /* a held frame in a <template> has no box until the page's script puts a copy in: it gets its placeholder then */
    function templated() {
        return Array.prototype.some.call(d.querySelectorAll('template'), function (e) {
            return !!e.content.querySelector(HELD);
        });
    }
    function watch() {
        if (!w.MutationObserver) return;
        new MutationObserver(function (records) {
            records.forEach(function (r) {
                r.addedNodes.forEach(function (n) {
                    if (n.nodeType !== 1) return;
                    if (n.matches(HELD)) placeholder(n);
                    n.querySelectorAll(HELD).forEach(placeholder);
                });
            });
        }).observe(d.documentElement, {childList: true, subtree: true});
    }

    /* Google Consent Mode and Microsoft UET's (html.google_consent_mode, html.microsoft_consent_mode): the gateway put
       the consent default before the page's first script; a choice made here is the update, pushed before the tags it
       grants are released */
    var GCM = [['ad_storage', 'marketing'], ['ad_user_data', 'marketing'], ['ad_personalization', 'marketing'],
               ['analytics_storage', 'analytics'], ['functionality_storage', 'functional'],
               ['personalization_storage', 'functional'], ['security_storage', 'necessary']];
    function consentMode() {
        var on = function (c) { return c === 'necessary' || state.categories[c] ? 'granted' : 'denied'; };
        if (d.querySelector('script[data-cg-gcm]')) {
            var update = {};
            GCM.forEach(function (g) { update[g[0]] = on(g[1]); });
            (function () { (w.dataLayer = w.dataLayer || []).push(arguments); })('consent', 'update', update);
        }
        if (d.querySelector('script[data-cg-uet]'))
            (w.uetq = w.uetq || []).push('consent', 'update', {ad_storage: on('marketing')});
    }

    /* --- talking to the gateway ----------------------------------------------------------- */
    function errorText(status) {
        return status === 503 ? t('error.store_unavailable') : status === 429 ? t('error.rate_limited') : status === 400 || status === 413 ? t('error.bad_request')
            : status === 403 ? t('error.forbidden') : !status ? t('error.network') : t('error.generic', {status: status});
    }
    function call(method, body) {
        return fetch(API, {method: method, credentials: 'same-origin', headers: body ? {'Content-Type': 'application/json'} : {},
                           body: body ? JSON.stringify(body) : undefined})
            .then(function (r) {
                if (!r.ok) throw {status: r.status};
                return r.json();
            }, function () { throw {status: 0}; });
    }
    function fail(e) {
        busy = false;
        if (!root || !box) return;
        var err = root.querySelector('.cg-err');
        err.classList.remove('cg-working');
        err.textContent = errorText(e && e.status);
        err.hidden = false;
        box.removeAttribute('aria-busy');
        root.querySelectorAll('button').forEach(function (b) { b.disabled = false; });
        /* disabling the buttons took the focus away: back to the one pressed, for a keyboard user to try again */
        if (busyFrom && box.contains(busyFrom)) busyFrom.focus();
        busyFrom = null;
    }
    function decide(body, doneKey) {
        if (busy) return;
        busy = true;
        if (root && box) {
            busyFrom = d.activeElement;
            var err = root.querySelector('.cg-err');
            err.hidden = false;
            err.classList.add('cg-working');
            err.textContent = t('banner.working'); /* (a role=alert: read out while the buttons wait) */
            box.setAttribute('aria-busy', 'true');
            root.querySelectorAll('button').forEach(function (b) { b.disabled = true; });
        }
        call('POST', body).then(function (next) {
            var before = state.categories, gained = {}, lost = false;
            cats().forEach(function (c) {
                if (next.categories[c] && !before[c]) gained[c] = true;
                if (!next.categories[c] && before[c]) lost = true;
            });
            delete next.visitor; /* (the API's answer has it; the page's scripts see state(): see the inline state) */
            state = next;
            busy = false;
            consentMode();
            if (lost || !released(gained)) {
                /* what already runs on this page cannot be stopped (or the page refused a released tag): start again,
                   the next load has the choice */
                store('cg-toast', doneKey);
                location.reload();
                return;
            }
            toast(t(doneKey));
            placeholders(); /* (the frames still held: what they need now) */
            d.dispatchEvent(new CustomEvent('consentgate:change', {detail: state}));
        }, function (e) {
            if (!box) open('custom'); /* (asked from a frame's placeholder: the dialog says why, and the way on) */
            fail(e);
        });
    }
    function withdraw() {
        return call('DELETE').then(function () {
            store('cg-toast', 'pc.withdrawn');
            location.reload();
        }, function (e) {
            /* from a page's own link: the dialog (and its strings) may not be there yet; the failure is shown in it */
            return strings().then(function () {
                if (!box) open('custom');
                fail(e);
            });
        });
    }

    /* --- the dialog ----------------------------------------------------------------------- */
    function btn(key, onclick, extra) {
        return h('button', Object.assign({type: 'button', 'class': 'cg-btn', text: t(key), onclick: onclick}, extra || {}));
    }
    function choices() {
        var chosen = {};
        root.querySelectorAll('.cg-cat input').forEach(function (i) { if (!i.disabled) chosen[i.value] = i.checked; });
        return {categories: chosen};
    }
    function build() {
        var notice = state.regime === 'notice' && !state.decided && view === 'main', later = !state.decided && state.regime !== 'notice';
        var links = [h('a', {href: O + '/__consent/', text: t('banner.details')})];
        /* the site's privacy policy (policy.url); a path is the site's own whatever the page's <base> says */
        if (info.policy_url)
            links.unshift(h('a', {href: info.policy_url.charAt(0) === '/' ? O + info.policy_url : info.policy_url,
                                  text: t('banner.policy_link')}));
        if (state.regime === 'opt-out' && info.dnss.length)
            links.push(h('button', {type: 'button', 'class': 'cg-linkbtn cg-dnss', text: t('banner.dnss'), onclick: function () {
                /* an action, so a button (Enter and Space, announced as one), not a link */
                var c = {};
                info.dnss.forEach(function (n) { if (n in state.categories) c[n] = false; });
                decide({categories: c}, 'banner.dnss_done');
            }}));
        info.languages.forEach(function (l) {
            if (l.code !== info.lang)
                links.push(h('button', {type: 'button', 'class': 'cg-lang', lang: l.code, 'data-lang': l.code, text: l.name,
                                        onclick: function () { language(l.code); }}));
        });
        var body = [h('div', {'class': 'cg-head'}, [
            h('h2', {id: 'cg-title', text: t(notice ? 'notice.title' : 'banner.title')}),
            /* "decide later" only when there is something to decide: a decided visitor, or a notice, just closes it */
            h('button', {type: 'button', 'class': 'cg-x', 'aria-label': t(later ? 'banner.later' : 'banner.close'),
                         title: t(later ? 'banner.later' : 'banner.close'), text: '\u00d7', onclick: function () { close(); }})])];
        if (view === 'main')
            body.push(h('p', {id: 'cg-text', text: t(notice ? 'notice.text' : 'banner.text.' + state.regime)}));
        if (state.gpc_applied) {
            var off = cats().filter(function (c) { return !state.categories[c]; });
            body.push(h('p', {'class': 'cg-gpc', text: t('banner.gpc_applied', {categories: list(off)})}));
        }
        if (view === 'custom') {
            var rows = cats().map(function (c) {
                var nec = c === 'necessary', id = 'cg-b-' + c;
                return h('div', {'class': 'cg-cat'}, [
                    h('input', {type: 'checkbox', role: 'switch', id: id, value: c, checked: nec || !!state.categories[c], disabled: nec,
                                'aria-describedby': id + '-d'}),
                    h('label', {'for': id}, [h('strong', {text: title(c) + (nec ? ' \u00b7 ' + t('banner.always_on') : '')})]),
                    h('p', {id: id + '-d', text: S['category.' + c + '.desc'] || ''})]);
            });
            body.push(h('fieldset', {id: 'cg-text', 'class': 'cg-cats'}, [h('legend', {text: t('banner.categories')})].concat(rows)));
        }
        body.push(h('p', {'class': 'cg-err', role: 'alert', hidden: true}));
        var buttons = notice ? [btn('notice.ok', function () {
            try { localStorage.setItem('cg-notice', String(state.policy_version)); } catch (e) { /* ignore */ }
            close();
        })] : [btn('banner.accept_all', function () { decide({all: true}, 'banner.saved'); }),
               btn('banner.reject_all', function () { decide({all: false}, 'banner.saved'); }),
               view === 'main' ? btn('banner.customise', customise)
                               : btn('banner.save', function () { decide(choices(), 'banner.saved'); })];
        body.push(h('div', {'class': 'cg-btns'}, buttons));
        if (state.decided && view === 'custom')
            body.push(h('p', {'class': 'cg-more'}, [h('button', {type: 'button', 'class': 'cg-linkbtn', text: t('banner.withdraw'),
                                                                   onclick: withdraw})]));
        body.push(h('p', {'class': 'cg-links'}, links));
        return body;
    }
    function render() {
        var focusLang = d.activeElement && d.activeElement.getAttribute && d.activeElement.getAttribute('data-lang');
        box.textContent = '';
        build().forEach(function (n) { box.appendChild(n); });
        if (view === 'main') box.setAttribute('aria-describedby', 'cg-text');
        else box.removeAttribute('aria-describedby');
        root.setAttribute('lang', info.lang || 'en');
        root.setAttribute('dir', dir(info.lang));
        if (focusLang) (box.querySelector('.cg-lang') || box).focus();
    }
    function customise() {
        view = 'custom';
        render();
        (box.querySelector('.cg-cat input:not([disabled])') || box).focus();
    }
    /* a small button that opens the choices again, on every page the banner is not shown on: withdrawing or changing
     * one's mind is as easy as consenting was (a page with its own [data-cg-open] control gets none) */
    var REOPEN = {label: state.reopen, lang: state.reopen_lang}; /* (the page's state has it; the API's answers do not) */
    /* The page's label is in the Accept-Language language (the cg_lang cookie is the /__consent pages' only); a
     * visitor who switched language is remembered here, and strings, once loaded, are in that language. */
    function relabel() {
        var b = d.getElementById('cg-reopen');
        if (!S['banner.reopen']) return;
        REOPEN = {label: S['banner.reopen'], lang: info.lang};
        if (!b) return;
        b.textContent = REOPEN.label;
        b.lang = REOPEN.lang || '';
        b.dir = dir(REOPEN.lang);
    }
    function reopener(shown) {
        var b = d.getElementById('cg-reopen');
        if (!b) {
            if (!shown || !REOPEN.label || d.querySelector('[data-cg-open]')) return;
            b = h('button', {type: 'button', id: 'cg-reopen', lang: REOPEN.lang || null, dir: dir(REOPEN.lang), text: REOPEN.label,
                             popover: 'manual', onclick: function () { open('custom'); }});
            (d.body || d.documentElement).appendChild(b);
        }
        b.hidden = !shown;
        top(b, shown);
    }
    /* a notice leaves the page in use, and what has the focus there must not go under it (WCAG 2.4.11): while it is
     * shown, the height it covers is the page's scroll padding (the focus scrolls clear of it) and room after the
     * page's end (so that its last lines can) */
    var padWas = null, sizer = null;
    function room(on) {
        var html = d.documentElement;
        if (sizer) sizer.disconnect();
        sizer = null;
        if (padWas !== null) html.style.scrollPaddingBottom = padWas;
        padWas = null;
        root.style.height = '';
        if (!on || !w.ResizeObserver) return;
        padWas = html.style.scrollPaddingBottom;
        sizer = new ResizeObserver(function () {
            /* its height and the gap under it (not its place on the screen, which moves while it slides in), and room
               for a focus ring */
            var covered = box ? box.offsetHeight + parseFloat(getComputedStyle(box).marginBottom || 0) + 8 + 'px' : '';
            html.style.scrollPaddingBottom = covered;
            root.style.setProperty('height', covered, 'important'); /* (banner.css's are: see there) */
        });
        sizer.observe(box);
    }
    function open(v) {
        if (!S['banner.title']) return void strings().then(function () { open(v); }, function () {});
        reopener(false);
        var modal = !(state.regime === 'notice' && !state.decided && (v || 'main') === 'main');
        if (!root) {
            root = h('div', {id: 'cg-banner', 'class': 'cg-root'});
            (d.body || d.documentElement).appendChild(root);
        }
        if (box && box.open) box.close();
        root.textContent = '';
        view = v || 'main';
        lastFocus = d.activeElement;
        box = h(modal ? 'dialog' : 'section', {'class': modal ? 'cg-dialog' : 'cg-notice', role: modal ? 'dialog' : 'region',
                                              'aria-modal': modal ? 'true' : null, 'aria-labelledby': 'cg-title',
                                              popover: modal ? null : 'manual', tabindex: '-1'});
        box.addEventListener('keydown', onKey);
        box.addEventListener('cancel', function (ev) { ev.preventDefault(); close(); });
        root.appendChild(box);
        render();
        room(!modal);
        if (modal && box.showModal) box.showModal();
        if (!modal) top(box, true);
        if (modal) (view === 'custom' && box.querySelector('.cg-cat input:not([disabled])') || box).focus();
    }
    function close() {
        if (!box) return;
        var modal = box.localName === 'dialog', inside = box.contains(d.activeElement);
        if (box.open && box.close) box.close();
        room(false);
        root.textContent = '';
        box = null;
        var back = lastFocus && d.contains(lastFocus) ? lastFocus : d.body;
        lastFocus = null;
        reopener(true);
        if (back === d.body && modal && d.getElementById('cg-reopen')) back = d.getElementById('cg-reopen');
        if ((modal || inside) && back && back.focus) back.focus();
    }
    function onKey(ev) {
        if (ev.key === 'Escape') {
            ev.preventDefault();
            close(); /* "decide later": nothing is recorded */
            return;
        }
        if (ev.key !== 'Tab' || box.localName !== 'dialog') return;
        var f = Array.prototype.filter.call(box.querySelectorAll('button, a[href], input'), function (e) {
            return !e.disabled && e.getClientRects().length > 0;
        });
        if (!f.length) return;
        var first = f[0], last = f[f.length - 1], at = d.activeElement;
        if (ev.shiftKey && (at === first || at === box)) {
            ev.preventDefault();
            last.focus();
        } else if (!ev.shiftKey && at === last) {
            ev.preventDefault();
            first.focus();
        }
    }
    function toast(text) {
        var old = d.getElementById('cg-toast');
        if (old) old.remove();
        var el = h('div', {id: 'cg-toast', 'class': 'cg-toast cg-root', role: 'status', lang: info.lang || 'en', dir: dir(info.lang)});
        (d.body || d.documentElement).appendChild(el);
        /* set after insertion so that screen readers announce it */
        setTimeout(function () { el.textContent = text; }, 50);
        setTimeout(function () { el.remove(); }, 6000);
    }

    /* --- strings and start ---------------------------------------------------------------- */
    var loading = null;
    function load(url) {
        return fetch(url, {credentials: 'same-origin'}).then(function (r) {
            if (!r.ok) throw {status: r.status};
            return r.json();
        }).then(function (j) {
            info = j;
            S = j.strings || {};
            relabel();
        });
    }
    /* the strings, fetched once and only when something is to be shown */
    function strings() {
        if (!loading) loading = load(O + '/__consent/i18n/strings.json').catch(function (e) { loading = null; throw e; });
        return loading;
    }
    function language(code) {
        /* the switches the visitor set but has not saved yet survive the new language */
        var kept = box && view === 'custom' ? choices().categories : null;
        load(O + '/__consent/i18n/strings.json?lang=' + encodeURIComponent(code)).then(function () {
            try { localStorage.setItem('cg-lang', info.lang); } catch (e) { /* ignore */ }
            placeholders();
            if (!box) return;
            render();
            if (kept) box.querySelectorAll('.cg-cat input').forEach(function (i) { if (i.value in kept) i.checked = kept[i.value]; });
        }, fail); /* (the dialog says why, in its language) */
    }
    w.consentgate = {
        open: function () { open('custom'); },
        withdraw: withdraw,
        state: function () { return JSON.parse(JSON.stringify(state)); }
    };
    d.addEventListener('click', function (ev) {
        var a = ev.target.closest && ev.target.closest('[data-cg-open], [data-cg-withdraw]');
        if (!a || (root && root.contains(a))) return;
        ev.preventDefault();
        a.hasAttribute('data-cg-withdraw') ? withdraw() : open('custom');
    });
    var msg = stored('cg-toast'), dismissed = null;
    store('cg-toast', null);
    try { dismissed = localStorage.getItem('cg-notice'); } catch (e) { /* ignore */ }
    var ask = !state.decided && !(state.regime === 'notice' && dismissed === String(state.policy_version));
    var chosen = null;
    try { chosen = localStorage.getItem('cg-lang'); } catch (e) { /* ignore */ }
    if (!ask && chosen && chosen !== REOPEN.lang && REOPEN.label) /* (one strings request, for who switched language) */
        strings().then(function () { reopener(true); }, function () { reopener(true); });
    else if (!ask)
        reopener(true);
    var later = templated();
    if (later || every(HELD).length)
        strings().then(function () {
            placeholders();
            if (later) watch();
        }, function () { /* no strings: the frames stay empty */ });
    if (ask || msg) {
        strings().then(function () {
            if (msg) toast(t(msg));
            if (ask) open('main');
        }, function () {
            /* no strings, no banner (nothing optional is granted in opt-in): the way back, labelled by the page's
               state, asks for them again */
            reopener(true);
        });
    }
});
