/**
 * The registry dashboard's page: its HTML and CSS. The script is built from
 * `src/http/dashboard/page.ts` into `dist/dashboard.js` (by
 * `scripts/build-browser.ts`) and served as `/dashboard.js?v=<hash>`; it
 * follows `/api/events` and updates rows in place. Nothing from the network
 * is ever parsed as HTML: the script writes record data with `textContent`.
 */

/** The dashboard's Content-Security-Policy: its own script only, inline styles for the one stylesheet below. */
export const DASHBOARD_CSP = "default-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const STYLE = `
  :root { --fg: #1d2330; --muted: #5b6478; --line: #e3e6ee; --bg: #fff; --card: #f8f9fc; }
  * { box-sizing: border-box; }
  body { font: 14px/1.45 system-ui, sans-serif; margin: 0; padding: 1.5rem 2rem; color: var(--fg); background: var(--bg); }
  h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
  .meta { color: var(--muted); margin: 0 0 .5rem; overflow-wrap: anywhere; }
  #networks a[aria-current] { color: var(--fg); font-weight: 600; text-decoration: none; }
  code { font: 12px/1.4 ui-monospace, monospace; overflow-wrap: anywhere; word-break: break-all; }
  #banner { background: #fff4d6; color: #6b4b00; border: 1px solid #f0d48a; border-radius: .4rem; padding: .6rem .8rem; margin: .75rem 0; font-weight: 600; }
  #search { width: 100%; max-width: 32rem; font: inherit; padding: .45rem .6rem; border: 1px solid #c9cede; border-radius: .4rem; margin: .75rem 0; }
  section.service { margin: 1.5rem 0; }
  h2 { font-size: 1.1rem; margin: 0 0 .4rem; overflow-wrap: anywhere; }
  h2 .count { font-size: .85rem; font-weight: 400; color: var(--muted); margin-left: .4rem; }
  .row { display: grid; grid-template-columns: minmax(9rem, 1.2fr) 6.5rem 9.5rem 5.5rem minmax(10rem, 1.6fr) minmax(10rem, 1.4fr); gap: .4rem .8rem; padding: .45rem .3rem; border-bottom: 1px solid var(--line); align-items: start; }
  .row.head { font-weight: 600; color: var(--muted); }
  .cell { min-width: 0; }
  .cell.label::before { display: none; }
  .pill { display: inline-block; padding: 0 .55rem; border-radius: .7rem; font-weight: 600; }
  .healthy { background: #dff5e3; color: #16662a; }
  .unhealthy { background: #fde2e1; color: #9b1c1c; }
  .unknown { background: #eceff4; color: #4b5263; }
  .checks { color: var(--muted); font-size: .85rem; margin-left: .3rem; }
  .spark { display: block; width: 88px; height: 22px; margin-top: .15rem; }
  .spark polyline { fill: none; stroke: #2f6fdb; stroke-width: 1.5; }
  dl.metadata { margin: 0; }
  dl.metadata div { display: flex; gap: .35rem; min-width: 0; }
  dl.metadata dt { color: var(--muted); flex: none; }
  dl.metadata dt::after { content: ":"; }
  dl.metadata dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
  body.stale .pill { background: #e5e7eb; color: #6b7280; }
  body.stale .row:not(.head) { color: #6b7280; }
  body.stale .spark polyline { stroke: #9ca3af; }
  [hidden] { display: none !important; }
  @media (max-width: 600px) {
    body { padding: 1rem .75rem; }
    .row.head { display: none; }
    .row { display: block; background: var(--card); border: 1px solid var(--line); border-radius: .5rem; padding: .6rem .7rem; margin: 0 0 .6rem; }
    .cell { display: flex; gap: .5rem; padding: .15rem 0; }
    .cell::before { content: attr(data-label); color: var(--muted); flex: 0 0 5.5rem; }
    .cell > * { min-width: 0; }
  }
`

/**
 * The dashboard page, loading its script from `scriptUrl` (undefined when
 * the script is not built: the page says so).
 */
export function dashboardHtml (scriptUrl: string | undefined): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>netget registry</title>
<style>${STYLE}</style>
</head>
<body>
<h1>netget registry</h1>
<p class="meta">network <strong id="network">…</strong> · registry <code id="registry">…</code> · <span id="status">${scriptUrl === undefined ? 'the dashboard script is not built: run npm run build' : 'connecting…'}</span></p>
<nav class="meta" id="networks" aria-label="networks" hidden></nav>
<p class="meta" id="counts"></p>
<div id="banner" role="alert" hidden></div>
<input id="search" type="search" placeholder="filter by name, peer ID or metadata" aria-label="filter services" autocomplete="off">
<p class="meta" id="note"></p>
<main id="services"></main>
<p id="empty" class="meta" hidden>No service is registered on this network yet.</p>
${scriptUrl === undefined ? '' : `<script src="${scriptUrl}"></script>`}
</body>
</html>
`
}
