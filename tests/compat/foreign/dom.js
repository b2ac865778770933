// Loads each page of a JSON list in headless Chromium and writes, for each, the ids of the <img> elements its tree
// builder built, the paths the browser requested (the preload scanner's too) and the document as it built it:
// [{built: [...], asked: [...], dom: "<html>…"}, ...].
// usage: node dom.js pages.json out.json
const fs = require('fs');
const path = require('path');
const { chromium } = require(path.join(__dirname, '..', '..', 'browser', 'node_modules', 'playwright-core'));

(async () => {
    const pages = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true });
    const page = await browser.newPage();
    let html = '', asked = [];
    await page.route('**/*', (r) => {
        const u = r.request().url();
        if (u === 'http://page.test/') return r.fulfill({ body: html, contentType: 'text/html' });
        asked.push(new URL(u).pathname.slice(1));
        return r.fulfill({ body: '', contentType: 'image/gif' });
    });
    const out = [];
    for (const p of pages) {
        html = p;
        asked = [];
        await page.goto('http://page.test/');
        await page.waitForTimeout(50);
        out.push({ built: await page.evaluate(() => Array.from(document.images).map((i) => i.id).filter((x) => x)), asked: asked.sort(),
                   dom: await page.evaluate(() => document.documentElement.outerHTML) });
    }
    fs.writeFileSync(process.argv[3], JSON.stringify(out));
    await browser.close();
})();
