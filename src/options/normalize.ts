import { InvalidOptionsError } from '../errors.js'
import { isPlainObject } from '../records/record.js'
import { preview } from '../text.js'
import { OPTION_RULES, OPTIONS, optionEntries } from './table.js'
import type { NetgetConfig, NetgetInit } from './init.js'
import type { DefaultContext } from './table.js'

/**
 * Checks `new Netget()` options and applies the defaults, all from the
 * options table ({@link OPTIONS}). Throws InvalidOptionsError naming the
 * option (its `option` field), what it got and what it takes.
 *
 * In order: unknown options; every option given, in table order (so the
 * first bad one is reported); the fixed defaults; the defaults derived from
 * other options (listen, dataDir and maxConnections from the node type and
 * service name, reannounceInterval from recordTtl, redialMaxDelay from
 * redialMinDelay); then the rules between options ({@link OPTION_RULES}).
 * An option left out or `undefined` takes its default; `null` is checked
 * like any other value, and refused.
 */
export function normalizeOptions (init: NetgetInit = {}): NetgetConfig {
  if (!isPlainObject(init)) {
    throw new InvalidOptionsError('Netget options must be an object, like { network: "production" }')
  }

  for (const key of Object.keys(init)) {
    if (!Object.hasOwn(OPTIONS, key)) {
      throw new InvalidOptionsError(`Unknown option ${preview(key)}; see the README for the options new Netget() takes`, { option: key })
    }
  }

  const given: Record<string, unknown> = init
  const entries = optionEntries()
  // every option a key, in table order
  const config: Record<string, unknown> = Object.fromEntries(entries.map(([option]) => [option, undefined]))

  for (const [option, spec] of entries) {
    if (given[option] !== undefined) {
      config[option] = spec.check(given[option], option)
    }
  }

  for (const [option, spec] of entries) {
    if (spec.default !== undefined && typeof spec.default !== 'function') {
      config[option] ??= spec.check(spec.default, option)
    }
  }

  config.serviceName = (config.metadata as NetgetConfig['metadata'])?.name as string | undefined
  const context = config as DefaultContext

  for (const [option, spec] of entries) {
    if (typeof spec.default === 'function') {
      config[option] ??= spec.check(spec.default(context), option)
    }
  }

  for (const rule of OPTION_RULES) {
    rule.check(config as NetgetConfig)
  }

  return config as NetgetConfig
}
