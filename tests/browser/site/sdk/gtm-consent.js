/* What a Google Tag Manager container does with Google Consent Mode, reduced by hand to what the test needs: it reads
   the consent commands queued in the dataLayer in order (gtag('consent', 'default' | 'update', {...}) pushes the
   arguments object), and its Meta Pixel tag, set to require ad_storage (the tag's "additional consent checks"), fires
   only when ad_storage is granted. It records what it read. Served by the test for the real gtm.js URL. */
(function (w, d) {
    'use strict';
    var state = {}, queue = [];
    (w.dataLayer || []).forEach(function (e) {
        if (e && e[0] === 'consent' && (e[1] === 'default' || e[1] === 'update')) {
            Object.keys(e[2]).forEach(function (k) { state[k] = e[2][k]; });
            queue.push('consent ' + e[1]);
        } else if (e && e.event) {
            queue.push(e.event);
        }
    });
    w.__gtm = {consent: state, queue: queue};
    if (state.ad_storage === 'granted') {
        var s = d.createElement('script');
        s.async = true;
        s.src = 'https://connect.facebook.net/en_US/fbevents.js';
        d.head.appendChild(s);
    }
})(window, document);
