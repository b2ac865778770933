/* the page's own script: copies the template's video in once the page has loaded */
window.addEventListener('load', function () {
    setTimeout(function () {
        document.getElementById('later').appendChild(document.getElementById('more').content.cloneNode(true));
        window.__copied = true;
    }, 200);
});
