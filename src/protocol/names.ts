import { NETWORK_NAME_PATTERN, SERVICE_NAME_PATTERN } from '../constants.js'
import { InvalidOptionsError } from '../errors.js'
import { preview } from '../text.js'

/** The naming rules of networks and services (docs/PROTOCOL.md). */

/** Throws InvalidOptionsError unless `network` is a valid network name. */
export function assertNetworkName (network: unknown, option = 'network'): asserts network is string {
  if (typeof network !== 'string' || !NETWORK_NAME_PATTERN.test(network)) {
    throw new InvalidOptionsError(`Option "${option}" must be a network name of 1 to 32 lowercase letters, digits or inner dashes (like "development" or "production"), got ${preview(network)}`, { option })
  }
}

/** Throws InvalidOptionsError unless `name` is a valid service name. */
export function assertServiceName (name: unknown, option = 'metadata.name'): asserts name is string {
  if (typeof name !== 'string' || !SERVICE_NAME_PATTERN.test(name)) {
    throw new InvalidOptionsError(`Option "${option}" must be a service name of 1 to 64 letters, digits and inner ".", "_" or "-" (like "DatabaseService"), got ${preview(name)}`, { option })
  }
}
