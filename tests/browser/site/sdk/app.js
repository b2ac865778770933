/* The site's own bundle, as a bundler makes it: the SDKs' code is in it, so no tracker <script src> is in the page. What
   each sends is reduced by hand to its requests (URLs, methods, transports and cookies are the SDKs' own):
   - posthog-js 1.449.2 (Apache-2.0) with its default api_host: its cookie, then fetch() POSTs to https://us.i.posthog.com;
   - Plausible's @plausible-analytics/tracker 0.4.6 (MIT) with endpoint '/api/event' (the site proxies it): fetch() POST,
     text/plain, {n, u, d, r};
   - gtag.js sending GA4 hits to server-side Google Tag Manager on the site's own host (transport_url '/metrics'):
     fetch() POST /metrics/g/collect, mode no-cors, keepalive (gtag's transport; a sendBeacon before it). */
(function (w, d) {
    'use strict';
    var token = 'phc_cgTest0123456789abcdefABCDEFghij', id = '019a' + Math.random().toString(16).slice(2, 14);
    d.cookie = 'ph_' + token + '_posthog=' + encodeURIComponent(JSON.stringify({distinct_id: id})) + '; max-age=31536000; path=/; SameSite=Lax';
    fetch('https://us.i.posthog.com/flags/?v=2&compression=base64', {method: 'POST', body: btoa(JSON.stringify({token: token, distinct_id: id}))})
        .catch(function () {});
    fetch('https://us.i.posthog.com/e/?ip=0&_=' + Date.now() + '&ver=1.449.2', {method: 'POST', headers: {'Content-Type': 'text/plain'},
          body: JSON.stringify([{event: '$pageview', properties: {token: token, distinct_id: id}}])}).catch(function () {});

    fetch('/api/event', {method: 'POST', headers: {'Content-Type': 'text/plain'}, keepalive: true,
                         body: JSON.stringify({n: 'pageview', u: location.href, d: 'shop.example', r: d.referrer || null})}).catch(function () {});

    var hit = '/metrics/g/collect?v=2&tid=G-CGTEST123&cid=' + id + '&en=page_view&dl=' + encodeURIComponent(location.href);
    fetch(hit, {method: 'POST', mode: 'no-cors', keepalive: true, credentials: 'include'}).catch(function () {});
    w.__bundleRan = true;
})(window, document);
