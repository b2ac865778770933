/* consentgate receipts page: lists the visitor's consent records (GET /__consent/api/receipts)
   and erases them on request (POST /__consent/api/erase). Strings come with the page. */
(function () {
    'use strict';
    /* a language picked here (?lang=) is the banner's "privacy choices" button's too, on the site's pages */
    if (/[?&]lang=/.test(location.search)) try { localStorage.setItem('cg-lang', document.documentElement.lang); } catch (e) { /* ignore */ }
    var d = document, S = {};
    var wrap = d.getElementById('cg-receipts');
    if (!wrap || !window.fetch) return;
    var tpl = d.getElementById('cg-r-strings');
    (tpl ? tpl.content.querySelectorAll('data') : []).forEach(function (e) { S[e.value] = e.textContent; });
    var lang = wrap.getAttribute('data-lang') || 'en';
    var status = d.getElementById('cg-r-status'), table = d.getElementById('cg-r-table');
    var tbody = table.querySelector('tbody');
    var msg = d.getElementById('cg-erase-msg');

    function t(k, vars) {
        var s = S[k] != null ? S[k] : k;
        return vars ? s.replace(/\{(\w+)\}/g, function (m, n) { return n in vars ? vars[n] : m; }) : s;
    }
    function errorText(st) {
        return st === 503 ? t('error.store_unavailable') : st === 429 ? t('error.rate_limited') : st === 403 ? t('error.forbidden')
            : typeof st !== 'number' ? t('error.network') : t('error.generic', {status: st});
    }
    function cell(text, code) {
        var td = d.createElement('td');
        if (code) {
            var c = d.createElement('code');
            c.textContent = text;
            td.appendChild(c);
        } else {
            td.textContent = text;
        }
        return td;
    }
    function when(ms) {
        try {
            return new Date(ms).toLocaleString(lang, {dateStyle: 'medium', timeStyle: 'medium'});
        } catch (e) {
            return new Date(ms).toISOString();
        }
    }
    function show(text) {
        status.textContent = text;
        status.hidden = false;
    }
    function load() {
        show(t('receipts.loading'));
        return fetch('/__consent/api/receipts', {credentials: 'same-origin'}).then(function (r) {
            if (!r.ok) throw r.status;
            return r.json();
        }).then(function (j) {
            var recs = j.records || [], id = d.querySelector('.cg-id');
            if (id && j.visitor) id.textContent = j.visitor;
            tbody.textContent = '';
            recs.forEach(function (r) {
                var tr = d.createElement('tr');
                var granted = (r.granted || []).map(function (c) { return S['category.' + c] || c; });
                tr.appendChild(cell(when(r.time_ms)));
                tr.appendChild(cell(S['method.' + r.method] || r.method));
                tr.appendChild(cell(granted.join(t('list.separator'))));
                tr.appendChild(cell(String(r.policy_version)));
                tr.appendChild(cell(r.receipt, true));
                tbody.appendChild(tr);
            });
            table.parentNode.hidden = recs.length === 0;
            if (recs.length) status.hidden = true;
            else show(t('receipts.none'));
            if (form) form.hidden = recs.length === 0; /* nothing to erase: no button offering it */
        }).catch(function () {
            show(t('receipts.error'));
        });
    }

    var form = d.getElementById('cg-erase-form'), confirmBox = d.getElementById('cg-erase-confirm');
    var eraseBtn = d.getElementById('cg-erase'), yes = d.getElementById('cg-erase-yes'), no = d.getElementById('cg-erase-no');
    if (!form) { /* the page asking to confirm without JavaScript (?confirm=erase): its own form does the rest */
        load();
        return;
    }
    form.addEventListener('submit', function (ev) {
        ev.preventDefault();
        msg.hidden = true;
        form.hidden = true;
        confirmBox.hidden = false;
        no.focus();
    });
    no.addEventListener('click', function () {
        confirmBox.hidden = true;
        form.hidden = false;
        eraseBtn.focus();
    });
    yes.addEventListener('click', function () {
        yes.disabled = no.disabled = true;
        fetch('/__consent/api/erase', {method: 'POST', credentials: 'same-origin'}).then(function (r) {
            if (!r.ok) throw r.status;
            return r.json();
        }).then(function (j) {
            msg.className = 'cg-note cg-ok';
            msg.textContent = t(j.erased === 1 ? 'receipts.erased_one' : j.erased === 0 ? 'receipts.erased_none' : 'receipts.erased',
                                {count: j.erased}) + (j.receipt ? ' ' + t('receipts.erase_receipt', {receipt: j.receipt}) : '');
            return load();
        }).catch(function (st) {
            msg.className = 'cg-note cg-err';
            msg.textContent = errorText(st);
        }).then(function () {
            msg.hidden = false;
            yes.disabled = no.disabled = false;
            confirmBox.hidden = true;
            form.hidden = !tbody.children.length; /* (nothing left to erase: the button goes, the message keeps the focus) */
            if (form.hidden) {
                msg.setAttribute('tabindex', '-1');
                msg.focus();
            } else {
                eraseBtn.focus();
            }
        });
    });
    load();
})();
