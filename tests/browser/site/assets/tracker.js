/* A first-party "analytics tracker" for the browser tests: listed (tests/browser/lists), so the
   gateway makes it inert until analytics is granted. Running it is visible to the test. */
window.__trackerRan = true;
navigator.sendBeacon('/collect?t=tracker-loaded');
