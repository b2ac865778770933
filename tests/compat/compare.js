// Loads each page DIRECT (the origin) and THROUGH the gateway (consent granted, refused) in headless Chromium and
// records what analyse.py compares: the rendered DOM (the consent UI, nonces and the link shim taken out), console
// errors, failed requests, CSP violations, a screenshot, and the bytes and headers of every same-origin subresource.
// usage: ORIGIN=http://127.0.0.1:18490 GW=http://127.0.0.1:18480 node compare.js urls.txt out.json [direct,granted,refused]
const fs = require('fs');
const crypto = require('crypto');
const path = require('path');
const { chromium } = require(path.join(__dirname, '..', 'browser', 'node_modules', 'playwright-core'));

const ORIGIN = process.env.ORIGIN || 'http://127.0.0.1:18490', GW = process.env.GW || 'http://127.0.0.1:18480';
const urls = fs.readFileSync(process.argv[2], 'utf8').split('\n').map((s) => s.trim()).filter((s) => s && !s.startsWith('#'));
const OUT = process.argv[3];
const shots = process.env.SHOTS || path.join(path.dirname(path.resolve(OUT)), 'shots');
fs.mkdirSync(shots, { recursive: true });

const IGNORE = ['#cg-banner', '#cg-reopen', '#cg-toast', '#cg-state', 'link[href$="/__consent/banner.css"]',
                'script[src$="/__consent/banner.js"]', 'script[data-cg-gcm]'];

async function ctxFor(browser, mode) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, serviceWorkers: 'allow' });
    if (mode !== 'direct') {
        const r = await ctx.request.post(GW + '/__consent/api/consent', { data: { all: mode === 'granted' }, headers: { Origin: GW } });
        if (r.status() !== 200) throw new Error('consent ' + r.status());
    }
    await ctx.addInitScript(() => {
        window.__csp = [];
        document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.disposition + ' ' + e.effectiveDirective + ' ' + e.blockedURI));
    });
    return ctx;
}

function norm(s) {
    s = s.split(GW).join(ORIGIN);
    // the link shim: [origin]/__go?u=<enc>&s=<sig> (attribute-escaped &amp;) -> the URL it leads to
    s = s.split(ORIGIN + '/__go?').join('/__go?');
    s = s.replace(/\/__go\?u=([^&"' >]+)(?:&amp;|&)s=[A-Za-z0-9_\-]+/g, (m, u) => {
        try { return decodeURIComponent(u).replace(/&/g, '&amp;'); } catch (e) { return m; }
    });
    return s;
}

async function load(ctx, path, mode) {
    const page = await ctx.newPage();
    const base = mode === 'direct' ? ORIGIN : GW;
    const rec = { console: [], pageerrors: [], failed: [], bad: [], resources: {} };
    page.on('console', (m) => { if (m.type() === 'error') rec.console.push(norm(m.text()).slice(0, 300)); });
    page.on('pageerror', (e) => rec.pageerrors.push(norm(String(e)).slice(0, 300)));
    page.on('requestfailed', (r) => rec.failed.push(norm(r.url()) + ' ' + (r.failure() || {}).errorText));
    page.on('response', async (r) => {
        const u = norm(r.url());
        if (r.status() >= 400) rec.bad.push(r.status() + ' ' + u);
        if (!u.startsWith(ORIGIN) || r.request().resourceType() === 'document') return;
        try {
            const b = await r.body();
            rec.resources[u.slice(ORIGIN.length)] = { status: r.status(), type: r.request().resourceType(),
                sha: crypto.createHash('sha256').update(b).digest('hex').slice(0, 16), len: b.length, headers: await r.allHeaders() };
        } catch (e) { rec.resources[u.slice(ORIGIN.length)] = { status: r.status(), err: String(e).slice(0, 80) }; }
    });
    let resp;
    try {
        resp = await page.goto(base + path, { waitUntil: 'load', timeout: 45000 });
    } catch (e) { rec.gotoError = String(e).slice(0, 200); }
    await page.waitForTimeout(700);
    process.stderr.write(mode[0]);
    if (resp) { rec.status = resp.status(); rec.headers = await resp.allHeaders(); }
    try {
        rec.dom = norm(await page.evaluate((ignore) => {
            const root = document.documentElement.cloneNode(true);
            for (const sel of ignore) root.querySelectorAll(sel).forEach((e) => e.remove());
            // the consent-mode default: an inline script of the gateway's, with the UI's nonce
            root.querySelectorAll('script').forEach((e) => { if (/gtag\('consent', ?'default'|uetq/.test(e.textContent) && e.hasAttribute('nonce')) e.remove(); });
            root.querySelectorAll('noscript').forEach((e) => { if (e.textContent.includes('id="cg-nojs"')) e.remove(); });
            root.querySelectorAll('[nonce]').forEach((e) => e.removeAttribute('nonce'));
            let s = root.outerHTML;
            // shadow roots and same-origin frames' text
            document.querySelectorAll('*').forEach((e) => { if (e.shadowRoot) s += '\n#shadow ' + e.localName + ' ' + e.shadowRoot.innerHTML; });
            return (document.doctype ? '<!DOCTYPE ' + document.doctype.name + '>' : '') + document.compatMode + ' ' + document.characterSet + ' ' + JSON.stringify(document.title) + '\n' + s;
        }, IGNORE));
        rec.frames = [];
        for (const f of page.frames().slice(1)) {
            try { rec.frames.push(norm(f.url()) + ' ' + norm(await f.evaluate(() => document.body ? document.body.innerText : ''))); } catch (e) { rec.frames.push(norm(f.url()) + ' ?'); }
        }
        rec.csp = await page.evaluate(() => window.__csp);
        await page.addStyleTag({ content: 'html body #cg-banner,html body #cg-reopen,html body #cg-toast{display:none!important}' }).catch(() => {});
        const name = crypto.createHash('sha1').update(path).digest('hex').slice(0, 12) + '-' + mode + '.png';
        await page.screenshot({ path: shots + '/' + name, timeout: 20000 });
        rec.shot = name;
    } catch (e) { rec.evalError = String(e).slice(0, 200); }
    await page.close();
    return rec;
}

(async () => {
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--font-render-hinting=none'] });
    const modes = (process.argv[4] || 'direct,granted,refused').split(',');
    const ctxs = {};
    for (const m of modes) ctxs[m] = await ctxFor(browser, m);
    const results = {};
    for (const u of urls) {
        results[u] = {};
        for (const m of modes) results[u][m] = await Promise.race([load(ctxs[m], u, m), new Promise((r) => setTimeout(() => r({ gotoError: 'WATCHDOG 90s' }), 90000))]);
        process.stderr.write('.');
    }
    fs.writeFileSync(OUT, JSON.stringify(results));
    await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
