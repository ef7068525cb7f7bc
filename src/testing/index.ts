/**
 * @packageDocumentation
 *
 * Helpers for testing code that uses netget: `createTestnet(n)` starts real
 * registry and service nodes on 127.0.0.1 with fast timers.
 */
import '../polyfills.js'

export { createTestnet, TESTNET_TIMERS } from './testnet.js'
export type { Testnet, TestnetOptions } from './testnet.js'
