/**
 * The registry dashboard's script (runs in the page; bundled into
 * `dist/dashboard.js` by `scripts/build-browser.ts`, never imported by Node
 * code). It follows `/api/events`: the first `snapshot` builds the page,
 * then `service` and `liveness` events change rows in place, keyed by
 * service name and peer ID, writing a text node only when its text changed —
 * so a selection (a peer ID being copied) survives updates. Record data
 * comes from strangers: it is written with `textContent` and attributes
 * only, and a metadata value becomes a link only if it is an http(s) URL.
 */
import { RTT_HISTORY } from './events.js'
import type { LivenessEvent, ServiceEvent, SnapshotEvent } from './events.js'
import type { ServiceInstance } from '../../types.js'

/** How long the page waits before reconnecting after the server refused the stream, in ms (doubling up to {@link MAX_RECONNECT_DELAY}). */
export const RECONNECT_DELAY = 1_000

/** Longest wait between two reconnection attempts, in ms. */
export const MAX_RECONNECT_DELAY = 10_000

const SVG = 'http://www.w3.org/2000/svg'
const SPARK_WIDTH = 88
const SPARK_HEIGHT = 22

interface Row {
  element: HTMLElement
  pill: HTMLElement
  checks: HTMLElement
  rtt: HTMLElement
  spark: SVGSVGElement
  line: SVGPolylineElement
  seen: HTMLElement
  metadata: HTMLElement
  addresses: HTMLElement
  instance: ServiceInstance
  /** The JSON of what `metadata` and `addresses` show, to rebuild them only on a change. */
  shownMetadata: string
  shownAddresses: string
  /** Lower-cased text the search box matches. */
  haystack: string
}

interface ServiceView {
  name: string
  section: HTMLElement
  count: HTMLElement
  list: HTMLElement
  rows: Map<string, Row>
}

/** The dashboard's state and DOM. */
class Dashboard {
  private readonly doc: Document
  private readonly root: HTMLElement
  private readonly services = new Map<string, ServiceView>()
  private readonly rtt = new Map<string, number[]>()
  private source?: EventSource
  private open = false
  private lastData = 0
  private reconnectDelay = RECONNECT_DELAY
  private query = ''

  constructor (doc: Document) {
    this.doc = doc
    this.root = this.byId('services')
    const search = this.byId('search') as HTMLInputElement
    search.addEventListener('input', () => {
      this.query = search.value.trim().toLowerCase()
      this.filter()
    })
    doc.defaultView?.setInterval(() => { this.tick() }, 1_000)
  }

  connect (): void {
    const network = new URLSearchParams(this.doc.defaultView?.location.search ?? '').get('network')
    const source = new EventSource(network === null ? '/api/events' : `/api/events?network=${encodeURIComponent(network)}`)
    this.source = source
    source.addEventListener('open', () => {
      this.open = true
      this.reconnectDelay = RECONNECT_DELAY
    })
    source.addEventListener('snapshot', event => { this.received(() => { this.applySnapshot(JSON.parse((event as MessageEvent<string>).data) as SnapshotEvent) }) })
    source.addEventListener('service', event => { this.received(() => { this.applyService(JSON.parse((event as MessageEvent<string>).data) as ServiceEvent) }) })
    source.addEventListener('liveness', event => { this.received(() => { this.applyLiveness(JSON.parse((event as MessageEvent<string>).data) as LivenessEvent) }) })
    source.addEventListener('error', () => {
      if (this.open) {
        // the data held until now: the stream was open, so nothing had changed
        this.lastData = Date.now()
      }

      this.open = false
      this.markStale()

      if (source.readyState === EventSource.CLOSED) {
        // the server refused the stream (the browser retries only broken connections)
        source.close()
        const delay = this.reconnectDelay
        this.reconnectDelay = Math.min(MAX_RECONNECT_DELAY, delay * 2)
        this.doc.defaultView?.setTimeout(() => { if (this.source === source) { this.connect() } }, delay)
      }
    })
  }

  private received (apply: () => void): void {
    this.lastData = Date.now()
    apply()
    this.filter()
    this.counts()
  }

  private applySnapshot (data: SnapshotEvent): void {
    this.text(this.byId('network'), data.network)
    this.text(this.byId('registry'), data.registry.peerId)
    this.showNetworks(data.networks ?? [data.network], data.network)
    this.rtt.clear()

    for (const [peerId, samples] of Object.entries(data.rtt)) {
      this.rtt.set(peerId, samples.slice(-RTT_HISTORY))
    }

    const names = new Set(data.services.map(service => service.name))

    removeMissing(this.services, names, view => { view.section.remove() })

    for (const service of data.services) {
      this.applyService(service)
    }

    this.text(this.byId('note'), data.truncated ? 'showing what fits the registry\'s caps: some services or instances are left out (see /api/services, "limits")' : '')
    this.doc.body.classList.remove('stale')
    this.byId('banner').hidden = true
    this.text(this.byId('status'), 'live')
    this.counts()
  }

  private applyService (service: ServiceEvent): void {
    let view = this.services.get(service.name)

    if (service.instances.length === 0) {
      view?.section.remove()
      this.services.delete(service.name)
      return
    }

    view ??= this.addService(service.name)
    const peers = new Set(service.instances.map(instance => instance.peerId))

    removeMissing(view.rows, peers, row => { row.element.remove() })

    for (const instance of service.instances) {
      let row = view.rows.get(instance.peerId)

      if (row === undefined) {
        row = this.addRow(view, instance)
      }

      row.instance = instance
      this.showInstance(row)
    }
  }

  private applyLiveness (event: LivenessEvent): void {
    if (event.status === 'alive' && event.rttMs !== undefined) {
      const samples = this.rtt.get(event.peerId) ?? []
      samples.push(event.rttMs)
      this.rtt.set(event.peerId, samples.slice(-RTT_HISTORY))
    }

    for (const view of this.services.values()) {
      const row = view.rows.get(event.peerId)

      if (row !== undefined) {
        const alive = event.status === 'alive'
        row.instance = {
          ...row.instance,
          health: { ...row.instance.health, status: alive ? 'healthy' : 'unhealthy', source: 'registry', rttMs: alive ? event.rttMs : undefined, lastSeen: alive ? event.measuredAt : row.instance.health.lastSeen }
        }
        this.showInstance(row)
      }
    }
  }

  private addService (name: string): ServiceView {
    const section = this.el('section', { class: 'service' })
    section.dataset.service = name
    const count = this.el('span', { class: 'count' })
    const list = this.el('div', { class: 'instances' })
    const head = this.el('div', { class: 'row head' })

    for (const title of ['peer ID', 'health', 'RTT', 'last seen', 'metadata', 'addresses']) {
      head.append(this.el('div', { class: 'cell' }, title))
    }

    list.append(head)
    section.append(this.el('h2', {}, this.el('span', { class: 'name' }, name), count), list)
    const view: ServiceView = { name, section, count, list, rows: new Map() }
    // in name order
    const next = [...this.services.values()].filter(other => other.name > name).sort((a, b) => a.name < b.name ? -1 : 1)[0]
    this.root.insertBefore(section, next?.section ?? null)
    this.services.set(name, view)
    return view
  }

  private addRow (view: ServiceView, instance: ServiceInstance): Row {
    const element = this.el('article', { class: 'row instance' })
    element.dataset.peer = instance.peerId
    const pill = this.el('span', { class: 'pill unknown' })
    const checks = this.el('span', { class: 'checks' })
    const rtt = this.el('span', { class: 'rtt' })
    const spark = this.doc.createElementNS(SVG, 'svg')
    spark.setAttribute('class', 'spark')
    spark.setAttribute('viewBox', `0 0 ${SPARK_WIDTH} ${SPARK_HEIGHT}`)
    spark.setAttribute('aria-hidden', 'true')
    const line = this.doc.createElementNS(SVG, 'polyline')
    spark.append(line)
    const seen = this.el('span', { class: 'seen' })
    const metadata = this.el('dl', { class: 'metadata' })
    const addresses = this.el('div', { class: 'addresses' })
    element.append(
      this.cell('peer ID', this.el('code', { class: 'peer' }, instance.peerId)),
      this.cell('health', pill, checks),
      this.cell('RTT', this.el('div', {}, rtt, spark)),
      this.cell('last seen', seen),
      this.cell('metadata', metadata),
      this.cell('addresses', addresses)
    )
    view.list.append(element)
    const row: Row = { element, pill, checks, rtt, spark, line, seen, metadata, addresses, instance, shownMetadata: '', shownAddresses: '', haystack: '' }
    view.rows.set(instance.peerId, row)
    return row
  }

  private showInstance (row: Row): void {
    const { instance } = row
    const status = instance.health.status
    const alive = status === 'healthy'
    this.text(row.pill, alive ? 'healthy' : status === 'unhealthy' ? 'down' : 'unknown')

    if (row.pill.className !== `pill ${status}`) {
      row.pill.className = `pill ${status}`
    }

    this.text(row.checks, instance.status === 'passing' ? '' : instance.status)
    this.text(row.rtt, alive && instance.health.rttMs !== undefined ? `${instance.health.rttMs.toFixed(2)} ms` : '–')
    const samples = alive ? this.rtt.get(instance.peerId) ?? [] : []
    row.spark.style.visibility = samples.length > 1 ? 'visible' : 'hidden'
    const points = sparkline(samples)

    if (row.line.getAttribute('points') !== points) {
      row.line.setAttribute('points', points)
    }

    this.showSeen(row)
    const metadata = JSON.stringify(instance.metadata)

    if (metadata !== row.shownMetadata) {
      row.shownMetadata = metadata
      row.metadata.replaceChildren(...Object.entries(instance.metadata).map(([key, value]) => this.el('div', {}, this.el('dt', {}, key), this.el('dd', {}, this.value(value)))))
    }

    const addresses = JSON.stringify(instance.multiaddrs)

    if (addresses !== row.shownAddresses) {
      row.shownAddresses = addresses
      row.addresses.replaceChildren(...instance.multiaddrs.map(address => this.el('div', {}, this.el('code', {}, address))))
    }

    row.haystack = [instance.name, instance.peerId, ...Object.entries(instance.metadata).map(([key, value]) => `${key} ${display(value)}`)].join('\n').toLowerCase()
  }

  private showSeen (row: Row): void {
    const lastSeen = row.instance.health.lastSeen
    this.text(row.seen, lastSeen === undefined ? '–' : age(Date.now() - lastSeen))
  }

  private tick (): void {
    for (const view of this.services.values()) {
      for (const row of view.rows.values()) {
        this.showSeen(row)
      }
    }
  }

  private markStale (): void {
    this.doc.body.classList.add('stale')
    const banner = this.byId('banner')
    this.text(banner, `registry unreachable — showing data from ${clock(this.lastData === 0 ? Date.now() : this.lastData)}`)
    banner.hidden = false
    this.text(this.byId('status'), 'reconnecting…')
    this.counts()
  }

  /** Hides the rows and services the search box does not match. */
  private filter (): void {
    const query = this.query

    for (const view of this.services.values()) {
      const serviceMatches = query === '' || view.name.toLowerCase().includes(query)
      let shown = 0

      for (const row of view.rows.values()) {
        const visible = serviceMatches || row.haystack.includes(query)
        row.element.hidden = !visible
        shown += visible ? 1 : 0
      }

      view.section.hidden = shown === 0
    }
  }

  private counts (): void {
    let instances = 0
    let up = 0

    for (const view of this.services.values()) {
      const alive = [...view.rows.values()].filter(row => row.instance.health.status === 'healthy').length
      instances += view.rows.size
      up += alive
      this.text(view.count, `${plural(view.rows.size, 'instance')} · ${alive} up`)
    }

    const stale = this.doc.body.classList.contains('stale') ? ' (when last reachable)' : ''
    this.text(this.byId('counts'), `${plural(this.services.size, 'service')} · ${plural(instances, 'instance')} · ${up} up${stale}`)
    this.byId('empty').hidden = this.services.size > 0
  }

  /** A metadata value: a link for an http(s) URL, text otherwise. */
  private value (value: unknown): Node {
    const text = display(value)

    if (typeof value === 'string' && /^https?:\/\//i.test(value)) {
      try {
        const url = new URL(value)

        if (url.protocol === 'http:' || url.protocol === 'https:') {
          return this.el('a', { href: url.href, rel: 'noopener noreferrer', target: '_blank' }, text)
        }
      } catch {}
    }

    return this.doc.createTextNode(text)
  }

  private cell (label: string, ...children: Node[]): HTMLElement {
    const cell = this.el('div', { class: 'cell' }, ...children)
    cell.dataset.label = label
    return cell
  }

  private el (tag: string, attributes: Record<string, string>, ...children: Array<Node | string>): HTMLElement {
    const element = this.doc.createElement(tag)

    for (const [key, value] of Object.entries(attributes)) {
      element.setAttribute(key, value)
    }

    element.append(...children)
    return element
  }

  /** Sets an element's text only if it changed (a write would drop a selection inside it). */
  /** A registry serving several networks: a link to each network's page, the one shown marked current. */
  private showNetworks (networks: string[], current: string): void {
    const nav = this.byId('networks')
    nav.hidden = networks.length < 2

    if (nav.hidden || nav.dataset.networks === networks.join(' ')) {
      return
    }

    nav.dataset.networks = networks.join(' ')
    nav.replaceChildren(this.doc.createTextNode('networks: '), ...networks.flatMap((network, i) => {
      const link = this.doc.createElement('a')
      link.href = `?network=${encodeURIComponent(network)}`
      link.textContent = network

      if (network === current) {
        link.setAttribute('aria-current', 'page')
      }

      return i === 0 ? [link] : [this.doc.createTextNode(' · '), link]
    }))
  }

  private text (element: HTMLElement, text: string): void {
    if (element.textContent !== text) {
      element.textContent = text
    }
  }

  private byId (id: string): HTMLElement {
    const element = this.doc.getElementById(id)

    if (element === null) {
      throw new Error(`the dashboard page has no #${id}`)
    }

    return element
  }
}

/** Starts the dashboard on a page served by `dashboardHtml()`. */
export function startDashboard (doc: Document): void {
  new Dashboard(doc).connect()
}

/** The `points` of a sparkline of `samples` (ms), scaled to the largest. */
export function sparkline (samples: number[]): string {
  if (samples.length < 2) {
    return ''
  }

  const max = Math.max(...samples, 0.001)
  const step = SPARK_WIDTH / (RTT_HISTORY - 1)
  const start = SPARK_WIDTH - step * (samples.length - 1)
  return samples.map((sample, i) => `${(start + i * step).toFixed(1)},${(SPARK_HEIGHT - 1 - (sample / max) * (SPARK_HEIGHT - 2)).toFixed(1)}`).join(' ')
}

function display (value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value)
}

function age (ms: number): string {
  return ms < 1_500 ? 'just now' : ms < 120_000 ? `${Math.round(ms / 1000)} s ago` : `${Math.round(ms / 60_000)} min ago`
}

function clock (time: number): string {
  const date = new Date(time)
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map(part => String(part).padStart(2, '0')).join(':')
}

function plural (count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}

/** Deletes from `map` every entry whose key `keep` lacks, calling `remove` on its value first (to take its element out of the page). */
function removeMissing<V> (map: Map<string, V>, keep: Set<string>, remove: (value: V) => void): void {
  for (const [key, value] of map) {
    if (!keep.has(key)) {
      remove(value)
      map.delete(key)
    }
  }
}
