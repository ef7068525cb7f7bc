/**
 * `netget-peer list URL`: the services a registry holds and how many live
 * instances each has, read page by page from the registry's HTTP port
 * (`GET URL/api/services`, the public JSON API; `--http` on the registry).
 */
import { commandSignal, DEFAULT_CLI_TIMEOUT, interpretAbort, numberFlag } from '../context.js'
import { CommandError, EXIT, quote } from '../exit-codes.js'
import { shortPeerId } from '../output.js'
import type { CommandContext } from '../context.js'
import type { ServicesResponse } from '../../index.js'

/** Services asked for per page: the API's most. */
const PAGE_LIMIT = 1000
/** Most pages read (a million services): a registry that keeps sending cursors cannot keep `list` going. */
const MAX_PAGES = 1000

/** One line of the listing. */
interface ListedService {
  name: string
  instances: number
  healthy: number
  truncated: boolean
}

export async function runList ({ parsed, io, out }: CommandContext): Promise<number> {
  const base = parseBase(parsed.positionals[0])
  const timeout = numberFlag(parsed, 'timeout') ?? DEFAULT_CLI_TIMEOUT
  const { signal, timedOut } = commandSignal(io, timeout)
  const waited = out.waiting(`listing the services of ${base}`)
  const services: ListedService[] = []
  let head: ServicesResponse | undefined

  try {
    let cursor: string | undefined

    for (let pages = 0; pages < MAX_PAGES; pages++) {
      const page = await fetchPage(base, cursor, signal)
      head ??= page

      for (const service of page.services) {
        services.push({ name: service.name, instances: service.instances.length, healthy: service.instances.filter(instance => instance.health.status === 'healthy').length, truncated: service.truncated === true })
      }

      cursor = page.nextCursor

      if (cursor === undefined) {
        break
      }
    }
  } catch (err) {
    throw interpretAbort(err, io, `listing the services of ${base}`, timeout, timedOut())
  } finally {
    waited()
  }

  const network = head?.network
  const registry = head?.registry.peerId
  out.result({ network, registry, services }, () => [
    `${services.length} service${services.length === 1 ? '' : 's'} on network ${network} (registry ${shortPeerId(registry ?? '')}):`,
    ...services.map(service => `  ${service.name}  ${service.instances} instance${service.instances === 1 ? '' : 's'}${service.truncated ? '+' : ''}, ${service.healthy} healthy`)
  ])
  return EXIT.OK
}

/** The registry's HTTP base URL, as `--http` printed it. */
function parseBase (text: string): string {
  let url: URL

  try {
    url = new URL(text)
  } catch {
    throw new CommandError(`Bad URL ${quote(text)}: give the registry's HTTP address, like http://127.0.0.1:8080 (netget-peer --bootstrap --http PORT prints it)`, EXIT.USAGE)
  }

  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CommandError(`Bad URL ${quote(text)}: give an http:// or https:// address, like http://127.0.0.1:8080`, EXIT.USAGE)
  }

  return url.origin + url.pathname.replace(/\/+$/, '')
}

async function fetchPage (base: string, cursor: string | undefined, signal: AbortSignal): Promise<ServicesResponse> {
  const url = `${base}/api/services?limit=${PAGE_LIMIT}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`
  let response: Response

  try {
    response = await fetch(url, { signal, headers: { accept: 'application/json' } })
  } catch (err) {
    if (signal.aborted) {
      throw err
    }

    throw new CommandError(`Cannot reach ${base}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}; check that the registry runs with --http there`, EXIT.UNREACHABLE, { cause: err })
  }

  const body = await response.text()

  if (!response.ok) {
    throw new CommandError(`${url} answered ${response.status}: ${body.trim().slice(0, 200)}`, EXIT.UNREACHABLE)
  }

  try {
    const page = JSON.parse(body) as ServicesResponse

    if (!Array.isArray(page.services)) {
      throw new Error('no "services" list')
    }

    return page
  } catch (err) {
    throw new CommandError(`${url} is not a netget registry's API (${(err as Error).message})`, EXIT.UNREACHABLE, { cause: err })
  }
}
