#!/usr/bin/env node
/**
 * The `netget-peer` executable: runs {@link main} with the process's
 * arguments; SIGINT/SIGTERM stop the command cleanly (a second one exits at
 * once). An error that escapes everything still ends as one line, not a
 * stack trace.
 */
import { logger } from '@libp2p/logger'
import { describeFailure, EXIT } from './exit-codes.js'
import { main } from './main.js'
import { PROGRAM } from './output.js'

const log = logger('netget:cli')
const controller = new AbortController()
let signals = 0

const onSignal = (signal: NodeJS.Signals): void => {
  if (++signals > 1) {
    process.exit(signal === 'SIGINT' ? 130 : 143)
  }

  controller.abort()
}

const onFatal = (err: unknown): void => {
  log.error('uncaught - %e', err)
  const failure = describeFailure(err)
  process.stderr.write(`${PROGRAM}: ${failure.message}\n`)
  process.exit(failure.exitCode === EXIT.OK ? EXIT.INTERNAL : failure.exitCode)
}

process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)
process.on('uncaughtException', onFatal)
process.on('unhandledRejection', onFatal)

process.exitCode = await main(process.argv.slice(2), { signal: controller.signal })
process.off('SIGINT', onSignal)
process.off('SIGTERM', onSignal)
