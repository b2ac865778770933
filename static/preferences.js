/* consentgate preference centre: the page works without JavaScript (plain form posts, the withdrawal too: withdraw=1);
   this withdraws with DELETE /__consent/api/consent instead, so that a failure is said on the page, by the button. */
(function () {
    'use strict';
    /* a language picked here (?lang=) is the banner's "privacy choices" button's too, on the site's pages */
    if (/[?&]lang=/.test(location.search)) try { localStorage.setItem('cg-lang', document.documentElement.lang); } catch (e) { /* ignore */ }
    var box = document.getElementById('cg-withdraw-box'), btn = document.getElementById('cg-withdraw');
    var err = document.getElementById('cg-withdraw-err');
    if (!box || !btn || !window.fetch) return;
    box.addEventListener('submit', function (ev) {
        ev.preventDefault();
        btn.disabled = true;
        err.hidden = true;
        fetch('/__consent/api/consent', {method: 'DELETE', credentials: 'same-origin'}).then(function (r) {
            if (!r.ok) throw r.status;
            location.replace('/__consent/?withdrawn=1');
        }).catch(function (status) {
            var ds = btn.dataset;
            err.textContent = status === 503 ? ds.e503 : status === 429 ? ds.e429 : status === 400 ? ds.e400 : status === 403 ? ds.e403
                : typeof status !== 'number' ? ds.enet : ds.egen.replace('{status}', status);
            err.hidden = false;
            btn.disabled = false;
        });
    });
})();
