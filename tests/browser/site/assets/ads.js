/* A first-party "marketing tag" for the browser tests (listed as marketing). */
window.__adsRan = true;
