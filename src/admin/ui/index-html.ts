/**
 * The page every UI path answers with. Before the client runs it says it is loading; if the
 * script cannot be fetched or fails to start, it says so (a message, never a blank page).
 */
export function indexHtml(base: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Reprise</title>
<link rel="stylesheet" href="${base}/assets/app.css">
</head>
<body>
<div id="app" data-base="${base}"><p class="boot">Loading the Reprise UI…</p></div>
<script>
  window.addEventListener("error", function (e) {
    var app = document.getElementById("app");
    if (app && !app.hasAttribute("data-started")) app.innerHTML = '<p class="boot error">The UI failed to start: ' + String(e.message || "could not load " + (e.target && e.target.src)).replace(/</g, "&lt;") + "</p>";
  }, true);
</script>
<script type="module" src="${base}/assets/app.js"></script>
<noscript>The Reprise UI needs JavaScript; the admin API is on this port too.</noscript>
</body>
</html>
`;
}
