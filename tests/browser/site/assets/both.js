/* A first-party tag for the browser tests that both lists name (analytics and marketing). */
window.__bothRan = true;
