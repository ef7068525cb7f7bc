#!/usr/bin/env node
/**
 * The `netget-peer` executable: runs {@link main} with the process's
 * arguments; SIGINT/SIGTERM stop the command cleanly (a second one exits at
 * once).
 */
import { main } from './main.js'

const controller = new AbortController()
let signals = 0

const onSignal = (signal: NodeJS.Signals): void => {
  if (++signals > 1) {
    process.exit(signal === 'SIGINT' ? 130 : 143)
  }

  controller.abort()
}

process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)

process.exitCode = await main(process.argv.slice(2), { signal: controller.signal })
process.off('SIGINT', onSignal)
process.off('SIGTERM', onSignal)
