import { dhtKeys, keys } from './keys.js'
import { liveness } from './liveness.js'
import { lookup } from './lookup.js'
import { records } from './records.js'
import { sync } from './sync.js'
import { trust } from './trust.js'
import type { VectorGenerator } from './common.js'

export type { VectorFile, VectorGenerator } from './common.js'

/**
 * Every file of docs/vectors/, in the order they are written. To add a file:
 * write a generator beside these (a `VectorGenerator`: its file name and a
 * `generate()` that builds it from the fixed keys and clock of common.ts),
 * list it here, add its checks to test/vectors.spec.ts, and run
 * `node dist/scripts/vectors.js --write`.
 */
export const VECTOR_GENERATORS: VectorGenerator[] = [keys, dhtKeys, records, lookup, trust, liveness, sync]
