import { multiaddr } from '@multiformats/multiaddr'
import { MAX_METADATA_BYTES } from '../constants.js'
import { InvalidOptionsError } from '../errors.js'
import { assertServiceName } from '../protocol/names.js'
import { isPlainObject } from '../records/record.js'
import { preview } from '../text.js'

/**
 * The checks the options table is built from. Each takes the value given (or
 * the default), throws InvalidOptionsError with `option` set, or returns the
 * value as the config holds it.
 */

/** A positive, finite number of milliseconds. */
export function duration (value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionsError(`Option "${option}" must be a positive number of milliseconds, got ${preview(value)}`, { option })
  }

  return value
}

/** A whole number of at least 1. */
export function count (value: unknown, option: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new InvalidOptionsError(`Option "${option}" must be a whole number of at least 1, got ${preview(value)}`, { option })
  }

  return value as number
}

/** An array of multiaddr strings, returned in their canonical form. */
export function multiaddrs (value: unknown, option: string): string[] {
  if (!Array.isArray(value)) {
    throw new InvalidOptionsError(`Option "${option}" must be an array of multiaddr strings like "/ip4/0.0.0.0/tcp/4001"`, { option })
  }

  return value.map((entry: unknown) => {
    try {
      return multiaddr(entry as string).toString()
    } catch (err) {
      throw new InvalidOptionsError(`Option "${option}": ${preview(entry)} is not a valid multiaddr (like "/ip4/0.0.0.0/tcp/4001")`, { cause: err, option })
    }
  })
}

/** Service metadata: a JSON object, a valid `name` if any, at most 8 KiB as JSON. Returns a JSON copy. */
export function checkMetadata (metadata: unknown): Record<string, unknown> {
  const option = 'metadata'

  if (!isPlainObject(metadata)) {
    throw new InvalidOptionsError('Option "metadata" must be an object like { name: "DatabaseService", version: "1.4.0" }', { option })
  }

  if (metadata.name !== undefined) {
    assertServiceName(metadata.name)
  }

  let json: string

  try {
    json = JSON.stringify(metadata)
  } catch (err) {
    // first line only: V8's circular-structure message spans several
    throw new InvalidOptionsError(`Option "metadata" must be JSON-serialisable: ${(err as Error).message.split('\n')[0]}`, { cause: err, option })
  }

  const size = new TextEncoder().encode(json).byteLength

  if (size > MAX_METADATA_BYTES) {
    throw new InvalidOptionsError(`Option "metadata" is ${size} bytes as JSON; at most ${MAX_METADATA_BYTES} are allowed — publish a URL to larger data instead`, { option })
  }

  return JSON.parse(json)
}
