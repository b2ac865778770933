/* the page's own lazy loader (as lazysizes and WP Rocket's do it): a frame's data-src or data-lazy-src becomes its src */
window.addEventListener('load', function () {
    document.querySelectorAll('iframe[data-src], iframe[data-lazy-src]').forEach(function (f) {
        f.src = f.getAttribute('data-src') || f.getAttribute('data-lazy-src');
    });
    window.__lazyLoaded = true;
});
