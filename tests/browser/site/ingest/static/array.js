/* What posthog-js 1.449.2 (Apache-2.0, github.com/PostHog/posthog-js) does when its snippet loads it from <api_host>/static/array.js,
   reduced by hand to what reaches the network and the cookie jar: it takes the snippet's queued init, stores its ids in the
   cookie ph_<token>_posthog, asks <api_host>/flags/?v=2&compression=base64 for the feature flags and sends the queued events
   and a $pageview to <api_host>/e/ (the real SDK batches, compresses and retries; the URLs and the cookie are its own). */
(function (w, d) {
    'use strict';
    var queued = (w.posthog && w.posthog._i) || [];
    queued.forEach(function (init) {
        var token = init[0], host = (init[1] && init[1].api_host) || 'https://us.i.posthog.com';
        var id = '019a' + Math.random().toString(16).slice(2, 14);
        d.cookie = 'ph_' + token + '_posthog=' + encodeURIComponent(JSON.stringify({distinct_id: id, $sesid: [Date.now(), id, Date.now()]})) +
                   '; max-age=31536000; path=/; SameSite=Lax';
        var post = function (path, body) {
            return fetch(host + path, {method: 'POST', body: body, headers: {'Content-Type': 'text/plain'}}).catch(function () {});
        };
        post('/flags/?v=2&compression=base64', btoa(JSON.stringify({token: token, distinct_id: id})));
        post('/e/?ip=0&_=' + Date.now() + '&ver=1.449.2',
             JSON.stringify([{event: '$pageview', properties: {token: token, distinct_id: id, $current_url: location.href}}]));
    });
    w.__posthogLoaded = true;
})(window, document);
