// crossdock console: the CSRF token on every htmx request, from
// <meta name="csrf-token"> (the server refuses a changing request without it).
// A file of its own: the Content-Security-Policy allows no inline script.
"use strict";

document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRF-Token"] = meta.content;
  }
});
