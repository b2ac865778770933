/* What a Google Tag Manager container (gtm.js?id=GTM-…) with a Meta Pixel tag does, reduced by hand to its effects: the
   tag (Meta's own base code, as a Custom HTML tag or a template) inserts connect.facebook.net/en_US/fbevents.js, which
   sets the first-party cookie _fbp and sends the PageView to www.facebook.com/tr. Served by the test for the real URL. */
(function (w, d) {
    'use strict';
    var s = d.createElement('script');
    s.async = true;
    s.src = 'https://connect.facebook.net/en_US/fbevents.js';
    d.head.appendChild(s);
    d.cookie = '_fbp=fb.1.' + Date.now() + '.1234567890; max-age=7776000; path=/; SameSite=Lax';
    new Image().src = 'https://www.facebook.com/tr?id=1234567890&ev=PageView&noscript=1';
    w.__containerRan = true;
})(window, document);
