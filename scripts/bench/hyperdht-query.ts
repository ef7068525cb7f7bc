/**
 * Helpers shared by the two hyperdht benchmark processes (the testnet and
 * the querying node): reading a query to its end, recognising the announced
 * peer in a reply, and the wire format of topics and keys between processes.
 *
 * @packageDocumentation
 */

/// <reference path="./hyperdht-types.d.ts" />

import type { LookupReply, Query } from 'hyperdht'

/** Interface every hyperdht node binds to. */
export const TESTNET_HOST = '127.0.0.1'

/** An announced topic as passed between processes: hex strings. */
export interface AnnouncedTopic {
  /** The 32-byte topic, hex. */
  topic: string
  /** The announcer's public key, hex. */
  publicKey: string
}

/**
 * Read `query` to its end, passing each reply to `onReply`. An abort of
 * `signal` destroys the query and rejects with `signal.reason`.
 */
export async function drain (query: Query, signal?: AbortSignal, onReply?: (reply: LookupReply) => void): Promise<void> {
  const onAbort = (): void => { query.destroy(signal?.reason) }
  signal?.addEventListener('abort', onAbort, { once: true })

  try {
    signal?.throwIfAborted()
    for await (const reply of query) {
      onReply?.(reply)
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
    if (!query.destroyed) {
      query.destroy()
    }
  }
}

/** Whether `reply` lists the peer whose public key is `publicKey`. */
export function names (reply: LookupReply, publicKey: Buffer): boolean {
  return reply.peers.some((peer) => peer.publicKey.equals(publicKey))
}

/** Current RSS in bytes, after a full GC when `--expose-gc` made one available. */
export function settledRss (): number {
  const { gc } = globalThis as { gc?: () => void }
  gc?.()
  return process.memoryUsage().rss
}
