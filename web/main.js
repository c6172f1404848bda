// Placeholder module: proves that same-origin ES modules load under the CSP.
// The web client (issue 10) replaces this file.
const status = document.getElementById("status");
if (status) status.dataset.ready = "true";
