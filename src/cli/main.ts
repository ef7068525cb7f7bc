/**
 * @packageDocumentation
 *
 * `netget-peer`, the command-line peer: a thin layer over the public
 * {@link Netget} API. `main(argv)` runs one command and resolves with the
 * exit code; it never throws and never calls `process.exit`, so tests call it
 * in-process. src/cli/bin.ts wires it to the real process.
 *
 * @example
 * ```ts
 * import { main } from 'netget/dist/src/cli/main.js'
 *
 * const code = await main(['discover', 'orders-api', '--json'])
 * ```
 */
import { readFileSync } from 'node:fs'
import { logger } from '@libp2p/logger'
import { helpText, parseInvocation } from './args.js'
import { runDiscover } from './commands/discover.js'
import { runId } from './commands/id.js'
import { runList } from './commands/list.js'
import { runNetworkCreate } from './commands/network-create.js'
import { runNetworkGrant } from './commands/network-grant.js'
import { runNetworkRevoke } from './commands/network-revoke.js'
import { runNetworkShow } from './commands/network-show.js'
import { runPing } from './commands/ping.js'
import { runRegister } from './commands/register.js'
import { runRegistry } from './commands/registry.js'
import { describeFailure, EXIT } from './exit-codes.js'
import { Output } from './output.js'
import type { CommandName } from './args.js'
import type { CliIo, CommandContext } from './context.js'

export type { CliIo } from './context.js'
export { EXIT, CommandError } from './exit-codes.js'

const log = logger('netget:cli')

const RUNNERS: Record<CommandName, (context: CommandContext) => Promise<number>> = {
  registry: runRegistry,
  register: runRegister,
  discover: runDiscover,
  ping: runPing,
  id: runId,
  list: runList,
  'network create': runNetworkCreate,
  'network grant': runNetworkGrant,
  'network show': runNetworkShow,
  'network revoke': runNetworkRevoke
}

/**
 * Runs `netget-peer` with `argv` (the arguments after the program name) and
 * resolves with the exit code. `io` defaults to the process's streams and
 * environment and a signal that never aborts; long-running commands stop
 * when `io.signal` aborts.
 */
export async function main (argv: string[], io: Partial<CliIo> = {}): Promise<number> {
  const fullIo: CliIo = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    env: io.env ?? process.env,
    signal: io.signal ?? new AbortController().signal
  }
  const out = new Output(fullIo, argv.includes('--json'))

  try {
    const invocation = parseInvocation(argv)

    switch (invocation.kind) {
      case 'help':
        out.text(helpText(invocation.command))
        return EXIT.OK
      case 'version':
        out.text(version())
        return EXIT.OK
      default:
        log('running %s with %o', invocation.parsed.command, invocation.parsed.flags)
        return await RUNNERS[invocation.parsed.command]({ parsed: invocation.parsed, io: fullIo, out })
    }
  } catch (err) {
    log.error('command failed - %e', err)
    const failure = describeFailure(err)
    out.failure(failure, (err as Error | undefined)?.name ?? 'Error')
    return failure.exitCode
  }
}

/** The package version, from package.json. */
export function version (): string {
  const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')
  return (JSON.parse(text) as { version: string }).version
}
