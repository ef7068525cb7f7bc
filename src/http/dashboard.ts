/**
 * The registry dashboard: a page for people showing the network's services,
 * their instances, health and RTT as the registry knows them (`unknown`: it
 * has not pinged the instance), refreshed every second from the first page
 * of `/api/services`. The script builds the table with `textContent` only:
 * service metadata comes from the network and is never parsed as HTML.
 */

/** How often the dashboard page refreshes, in ms. */
export const DASHBOARD_REFRESH_INTERVAL = 1_000

/** The dashboard page (its script is served separately, as `/dashboard.js`). */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>netget registry</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1d2330; }
  h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
  .meta { color: #5b6478; margin-bottom: 1.5rem; }
  h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e3e6ee; vertical-align: top; }
  th { font-weight: 600; color: #5b6478; }
  code { font-size: 12px; word-break: break-all; }
  .health { display: inline-block; padding: 0 .5rem; border-radius: .6rem; font-weight: 600; }
  .healthy { background: #dff5e3; color: #16662a; }
  .unhealthy { background: #fde2e1; color: #9b1c1c; }
  .unknown { background: #eceff4; color: #4b5263; }
  #status.error { color: #9b1c1c; }
</style>
</head>
<body>
<h1>netget registry</h1>
<div class="meta">network <strong id="network">…</strong> · registry <code id="registry">…</code> · <span id="status">loading…</span></div>
<p id="note" class="meta"></p>
<div id="services"></div>
<script src="/dashboard.js"></script>
</body>
</html>
`

/** The dashboard's script. */
export const DASHBOARD_JS = `'use strict'
;(() => {
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag)
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value)
    for (const child of children) node.append(child)
    return node
  }
  const age = ms => ms < 1500 ? 'just now' : Math.round(ms / 1000) + ' s ago'

  function render (data) {
    document.getElementById('network').textContent = data.network
    document.getElementById('registry').textContent = data.registry.peerId
    const root = document.getElementById('services')
    const sections = []
    if (data.services.length === 0) sections.push(el('p', {}, 'No service is registered on this network yet.'))
    for (const service of data.services) {
      const rows = service.instances.map(instance => el('tr', { 'data-peer': instance.peerId },
        el('td', {}, el('code', {}, instance.peerId)),
        el('td', {}, el('span', { class: 'health ' + instance.health.status }, instance.health.status)),
        el('td', {}, instance.health.rttMs === undefined ? '–' : instance.health.rttMs.toFixed(2) + ' ms'),
        el('td', {}, instance.health.lastSeen === undefined ? '–' : age(Date.now() - instance.health.lastSeen)),
        el('td', {}, String(instance.metadata.version ?? '')),
        el('td', {}, ...instance.multiaddrs.map(address => el('div', {}, el('code', {}, address))))
      ))
      sections.push(el('section', { 'data-service': service.name },
        el('h2', {}, service.name + ' (' + service.instances.length + ' instance' + (service.instances.length === 1 ? '' : 's') + ')'),
        el('table', {},
          el('thead', {}, el('tr', {}, ...['peer ID', 'health', 'RTT', 'last seen', 'version', 'addresses'].map(title => el('th', {}, title)))),
          el('tbody', {}, ...rows))))
    }
    root.replaceChildren(...sections)
    const shown = data.services.length + ' service' + (data.services.length === 1 ? '' : 's')
    document.getElementById('note').textContent = data.nextCursor !== undefined
      ? 'showing the first ' + shown + '; the rest: /api/services?cursor=' + encodeURIComponent(data.nextCursor)
      : data.truncated ? 'showing ' + shown + ' of more: the registry caps its listing (see /api/services, "limits")' : ''
  }

  async function refresh () {
    const status = document.getElementById('status')
    try {
      const response = await fetch('/api/services', { cache: 'no-store' })
      if (!response.ok) throw new Error('HTTP ' + response.status)
      render(await response.json())
      status.textContent = 'updated ' + new Date().toLocaleTimeString()
      status.className = ''
    } catch (err) {
      status.textContent = 'cannot reach the registry: ' + err.message
      status.className = 'error'
    } finally {
      setTimeout(refresh, ${DASHBOARD_REFRESH_INTERVAL})
    }
  }

  refresh()
})()
`
