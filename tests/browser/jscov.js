/*
 * V8 block coverage of the consent UI's own scripts (static/*.js as the gateway serves them, /__consent/NAME.js),
 * for run.js when CG_JSCOV=1: every page's precise coverage (Playwright's page.coverage, detailed by block, kept
 * across the page's navigations) is merged per script, and the report says, per script, how much of its code ran
 * and which functions and blocks never did.
 *
 * V8 gives each function a list of ranges, the function's own first and then the blocks in it, each with a count;
 * the count of a character is that of the innermost range holding it. A character ran if its count was more than
 * 0 in any page (one whose function was measured by block); the uncovered blocks printed are the maximal spans of characters that never ran (blank space aside).
 */
'use strict';
const scripts = new Map(); /* name -> {source, ran: Uint8Array, fns: Map(start -> {name, end, ran}), other: n} */

function nameOf(url) {
    const m = /^https?:\/\/[^/]+\/__consent\/([\w.-]+\.js)(\?|$)/.exec(url);
    return m ? m[1] : null;
}

function add(entries) {
    for (const e of entries) {
        const name = nameOf(e.url);
        if (!name || e.source == null) continue;
        let s = scripts.get(name);
        if (!s) scripts.set(name, s = { source: e.source, ran: new Uint8Array(e.source.length), fns: new Map(), other: 0 });
        if (s.source !== e.source) { /* (a gateway started after the file changed: its offsets are not these) */
            s.other++;
            continue;
        }
        const count = new Int32Array(e.source.length).fill(-1);
        /* outer ranges first: an inner one overwrites its part. A function compiled before the coverage started has
           no block counts (isBlockCoverage false): its blocks are unknown (-1), not all run */
        const ranges = e.functions.flatMap((f) => f.ranges.map((r) => (f.isBlockCoverage ? r : Object.assign({}, r, { count: -1 }))))
            .sort((a, b) => a.startOffset - b.startOffset || b.endOffset - a.endOffset);
        for (const r of ranges) count.fill(r.count, r.startOffset, r.endOffset);
        for (let i = 0; i < count.length; i++) if (count[i] > 0) s.ran[i] = 1;
        for (const f of e.functions) {
            const r = f.ranges[0];
            if (r.startOffset === 0 && r.endOffset === e.source.length) continue; /* the script itself */
            const fn = s.fns.get(r.startOffset) || { name: f.functionName || '(anonymous)', end: r.endOffset, ran: false };
            fn.ran = fn.ran || r.count > 0;
            s.fns.set(r.startOffset, fn);
        }
    }
}

/* line:column (1-based) of an offset */
function where(src, off) {
    const before = src.slice(0, off).split('\n');
    return `${before.length}:${before[before.length - 1].length + 1}`;
}

function report(out = console.log) {
    if (!scripts.size) return out('jscov: no coverage of /__consent/*.js was collected');
    for (const [name, s] of [...scripts].sort()) {
        let code = 0, ran = 0;
        const holes = [];
        for (let i = 0; i < s.source.length; i++) {
            if (/\s/.test(s.source[i])) continue;
            code++;
            if (s.ran[i]) {
                ran++;
                continue;
            }
            const last = holes[holes.length - 1];
            /* (a span goes on over blank space) */
            if (last && !/\S/.test(s.source.slice(last[1], i))) last[1] = i + 1;
            else holes.push([i, i + 1]);
        }
        const fns = [...s.fns.entries()].sort((a, b) => a[0] - b[0]);
        const dead = fns.filter(([, f]) => !f.ran);
        out(`jscov: ${name}: ${(100 * ran / code).toFixed(1)}% of its code ran; functions ${fns.length - dead.length}/${fns.length}; ` +
            `${holes.length} blocks never ran` + (s.other ? ` (${s.other} pages ran another version of it: not counted)` : ''));
        for (const [start, f] of dead) out(`  function never called: ${f.name} at ${name}:${where(s.source, start)}`);
        for (const [a, b] of holes) {
            const text = s.source.slice(a, b).replace(/\s+/g, ' ');
            out(`  never ran: ${name}:${where(s.source, a)}-${where(s.source, b)}  ${text.length > 100 ? text.slice(0, 97) + '...' : text}`);
        }
    }
}

module.exports = { add, report };
