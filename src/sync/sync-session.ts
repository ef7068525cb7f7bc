import { lpStream } from '@libp2p/utils'
import { encodingLength } from 'uint8-varint'
import { MAX_RECORD_BYTES } from '../constants.js'
import { InvalidRecordError } from '../errors.js'
import { MAX_SYNC_FRAME_BYTES, decodeSyncMessage, encodeSyncMessage } from '../protocol/sync-messages.js'
import { Reconciler } from './reconciler.js'
import { RevocationReconciler } from './revocation-exchange.js'
import type { RevocationSnapshot } from './revocation-exchange.js'
import type { SyncMessage, SyncRegistry } from '../protocol/sync-messages.js'
import type { SyncSnapshot } from './sync-set.js'
import type { RefusalCode } from '../errors.js'
import type { Stream } from '@libp2p/interface'

/** Most messages one side sends in a session (docs/PROTOCOL.md §17.3). */
export const MAX_SYNC_ROUNDS = 256

/** What a session asks its registry for. */
export interface SessionInit {
  snapshot(): Promise<SyncSnapshot>
  envelope(id: string): Promise<Uint8Array | undefined>
  /** Takes one record from the peer: verified and stored like any put; resolves with the reason code if refused (docs/PROTOCOL.md §12), undefined if stored. */
  accept(envelope: Uint8Array, signal: AbortSignal): Promise<RefusalCode | undefined>
  /** The registries to name in this side's first message. */
  registries(): SyncRegistry[]
  /** Called with the registries the peer named. */
  onRegistries(registries: SyncRegistry[]): void
  /**
   * Closed networks: the revocations this registry holds, reconciled in
   * every full session (docs/PROTOCOL.md §17.5). Undefined: revocation
   * fields are ignored.
   */
  revocations?: SessionRevocations
}

/** What a session asks its registry for about revocations. */
export interface SessionRevocations {
  /** The revocations held now. */
  snapshot(): Promise<RevocationSnapshot>
  /** Verifies and keeps a revocation from the peer, as the trust exchange does; resolves true if new, rejects for an invalid one. */
  accept(envelope: Uint8Array): Promise<boolean>
}

/** What a push session carries: records and revocations just accepted here. */
export interface SyncPush {
  records: Uint8Array[]
  revocations?: Uint8Array[]
}

/** What one session did, counted on this side. */
export interface SessionCounts {
  /** Messages this side sent. */
  rounds: number
  bytesSent: number
  bytesReceived: number
  recordsSent: number
  recordsReceived: number
  /** Records received and refused by this registry's rules. */
  recordsRefused: number
  /** Records this side sent that the peer said it refused, by reason code. */
  refusedByPeer: Partial<Record<RefusalCode, number>>
  revocationsSent: number
  revocationsReceived: number
  /** Revocations received that did not verify (forged, malformed), dropped. */
  revocationsRefused: number
}

type Frames = ReturnType<typeof lpStream>

/** A session's stream, counting bytes both ways. */
class SessionStream {
  readonly counts: SessionCounts = { rounds: 0, bytesSent: 0, bytesReceived: 0, recordsSent: 0, recordsReceived: 0, recordsRefused: 0, refusedByPeer: {}, revocationsSent: 0, revocationsReceived: 0, revocationsRefused: 0 }
  /** This side's refusals of the records of the message read last, told in the next message written. */
  private refusals: Array<[number, RefusalCode]> = []
  private readonly frames: Frames
  private readonly init: SessionInit
  private readonly signal: AbortSignal

  constructor (stream: Stream, init: SessionInit, signal: AbortSignal) {
    this.frames = lpStream(stream, { maxDataLength: Math.max(MAX_SYNC_FRAME_BYTES, MAX_RECORD_BYTES) })
    this.init = init
    this.signal = signal
  }

  async write (message: SyncMessage, envelopes: Uint8Array[]): Promise<void> {
    if (this.refusals.length > 0) {
      message.refused = this.refusals
      this.refusals = []
    }

    const frames = [encodeSyncMessage(message), ...envelopes]

    for (const frame of frames) {
      this.counts.bytesSent += frame.byteLength + encodingLength(frame.byteLength)
    }

    await this.frames.writeV(frames, { signal: this.signal })
    this.counts.rounds++
    this.counts.recordsSent += envelopes.length
    this.counts.revocationsSent += message.revocations?.length ?? 0
  }

  /** Reads one message and takes in its records; undefined when the other side closed. */
  async read (): Promise<SyncMessage | undefined> {
    let frame: Uint8Array

    try {
      frame = (await this.frames.read({ signal: this.signal })).subarray()
    } catch (err) {
      if ((err as Error).name === 'UnexpectedEOFError') {
        return undefined
      }

      throw err
    }

    this.counts.bytesReceived += frame.byteLength + encodingLength(frame.byteLength)

    if (frame.byteLength > MAX_SYNC_FRAME_BYTES) {
      throw new InvalidRecordError(`A sync frame is at most ${MAX_SYNC_FRAME_BYTES} bytes`, { code: 'too-large' })
    }

    const message = decodeSyncMessage(frame)

    const envelopes: Uint8Array[] = []

    for (let i = 0; i < message.records; i++) {
      const envelope = (await this.frames.read({ signal: this.signal })).subarray()
      this.counts.bytesReceived += envelope.byteLength + encodingLength(envelope.byteLength)
      envelopes.push(envelope)
    }

    // one at a time: the store quotas are checked against what is stored, so records taken together could pass a quota together
    for (const [position, envelope] of envelopes.entries()) {
      this.counts.recordsReceived++
      const code = envelope.byteLength > MAX_RECORD_BYTES ? 'too-large' : await this.init.accept(envelope, this.signal)

      if (code !== undefined) {
        this.counts.recordsRefused++
        this.refusals.push([position, code])
      }
    }

    for (const [, code] of message.refused ?? []) {
      this.counts.refusedByPeer[code] = (this.counts.refusedByPeer[code] ?? 0) + 1
    }

    if (message.registries !== undefined) {
      this.init.onRegistries(message.registries)
    }

    await this.acceptRevocations(message.revocations ?? [])
    return message
  }

  /** Takes the peer's revocations one at a time; an invalid one is dropped and counted, and the session goes on. */
  private async acceptRevocations (envelopes: Uint8Array[]): Promise<void> {
    const revocations = this.init.revocations

    if (revocations === undefined) {
      return
    }

    for (const envelope of envelopes) {
      this.counts.revocationsReceived++

      try {
        await revocations.accept(envelope)
      } catch {
        this.counts.revocationsRefused++
      }

      this.signal.throwIfAborted()
    }
  }
}

function isEmpty (message: SyncMessage): boolean {
  return message.ranges.length === 0 && message.want.length === 0 && message.records === 0 && !hasRevocations(message)
}

/** Whether a message carries revocation ids, wants or envelopes. */
function hasRevocations (message: SyncMessage): boolean {
  return (message.revocationIds?.length ?? 0) + (message.wantRevocations?.length ?? 0) + (message.revocations?.length ?? 0) > 0
}

/** Whether a message opens or takes part in reconciling revocations. */
function negotiatesRevocations (message: SyncMessage): boolean {
  return message.revocationDigest !== undefined || (message.revocationIds?.length ?? 0) + (message.wantRevocations?.length ?? 0) > 0
}

/** A session's message with the revocation half's fields added. */
function withRevocations (next: { message: SyncMessage, envelopes: Uint8Array[] }, revocations: RevocationReconciler | undefined): { message: SyncMessage, envelopes: Uint8Array[] } {
  return revocations === undefined ? next : { message: { ...next.message, ...revocations.next() }, envelopes: next.envelopes }
}

/**
 * Runs the opening side of a session on `stream`: reconciles everything
 * (`push` undefined), or only sends `push` (records just accepted here).
 * Resolves with what it did; the stream is closed.
 */
export async function runInitiator (stream: Stream, init: SessionInit, signal: AbortSignal, push?: SyncPush): Promise<SessionCounts> {
  const session = new SessionStream(stream, init, signal)
  const reconciler = new Reconciler({ snapshot: await init.snapshot(), envelope: init.envelope })
  // a push carries its revocations and reconciles none
  const revocations = push === undefined && init.revocations !== undefined ? new RevocationReconciler(await init.revocations.snapshot()) : undefined

  if (push === undefined) {
    reconciler.open()
  }

  let lastEmpty = false

  for (let round = 0; round < MAX_SYNC_ROUNDS; round++) {
    const next = round === 0 && push !== undefined
      ? { message: { ranges: [], want: [], records: push.records.length, ...(push.revocations === undefined ? {} : { revocations: push.revocations }) }, envelopes: push.records }
      : withRevocations(await reconciler.next(), revocations)

    if (round === 0 && push === undefined) {
      next.message.registries = init.registries()

      if (revocations !== undefined) {
        next.message.revocationDigest = revocations.digest
      }
    }

    if (round > 0 && lastEmpty && isEmpty(next.message)) {
      break
    }

    await session.write(next.message, next.envelopes)
    const answer = await session.read()

    if (answer === undefined) {
      throw new InvalidRecordError('The peer registry closed the sync stream before answering', { code: 'bad-request' })
    }

    reconciler.receive(answer)
    revocations?.receive(answer)
    lastEmpty = isEmpty(answer)
  }

  await stream.close({ signal })
  return session.counts
}

/** Runs the answering side of a session on `stream` until the opener closes it; resolves with what it did. */
export async function runResponder (stream: Stream, init: SessionInit, signal: AbortSignal): Promise<SessionCounts> {
  const session = new SessionStream(stream, init, signal)
  let reconciler: Reconciler | undefined
  let revocations: RevocationReconciler | undefined

  for (let round = 0; round < MAX_SYNC_ROUNDS; round++) {
    const message = await session.read()

    if (message === undefined) {
      break
    }

    // a message asking nothing (a node asking only for registries, a push of revocations only) needs no snapshot
    reconciler ??= message.ranges.length === 0 && message.want.length === 0 && message.records === 0 ? undefined : new Reconciler({ snapshot: await init.snapshot(), envelope: init.envelope })
    reconciler?.receive(message)

    if (init.revocations !== undefined && negotiatesRevocations(message)) {
      revocations ??= new RevocationReconciler(await init.revocations.snapshot())
    }

    revocations?.receive(message)
    const next = withRevocations(reconciler === undefined ? { message: { ranges: [], want: [], records: 0 }, envelopes: [] } : await reconciler.next(), revocations)

    if (round === 0 && message.registries !== undefined) {
      next.message.registries = init.registries()
    }

    await session.write(next.message, next.envelopes)
  }

  await stream.close({ signal })
  return session.counts
}

/**
 * Answers a peer that may only ask for the registry list (a node that is not
 * a registry on a closed network, docs/PROTOCOL.md §17.4): reads one
 * message, answers it with this side's registries and closes. Records,
 * registries and revocations the peer sends are not taken; rejects if the
 * message asks for more than the list.
 */
export async function answerRegistries (stream: Stream, registries: () => SyncRegistry[], signal: AbortSignal): Promise<void> {
  const session = listOnlySession(stream, signal, registries)
  const message = await session.read()

  if (message === undefined) {
    return
  }

  if (message.registries === undefined || !isEmpty(message) || message.revocationDigest !== undefined) {
    throw new Error('only a registry of the network may sync; another node may only ask for the registry list')
  }

  await session.write({ ranges: [], want: [], records: 0, registries: registries() }, [])
  await stream.close({ signal })
}

/**
 * Asks a registry which other registries of the network it knows, on the
 * sync protocol's `stream` (docs/PROTOCOL.md §17.4): one message naming
 * none, one answer. Resolves with the registries named (at most 16).
 */
export async function askRegistries (stream: Stream, signal: AbortSignal): Promise<SyncRegistry[]> {
  let named: SyncRegistry[] = []
  const session = listOnlySession(stream, signal, () => [], registries => { named = registries })
  await session.write({ ranges: [], want: [], records: 0, registries: [] }, [])
  await session.read()
  await stream.close({ signal })
  return named
}

/** A session that only exchanges the registry list: it holds no records, takes none (`not-authorized`) and no revocations. */
function listOnlySession (stream: Stream, signal: AbortSignal, registries: () => SyncRegistry[], onRegistries: (named: SyncRegistry[]) => void = () => {}): SessionStream {
  return new SessionStream(stream, {
    snapshot: async () => { throw new Error('a registry-list exchange holds no records') },
    envelope: async () => undefined,
    accept: async () => 'not-authorized',
    registries,
    onRegistries
  }, signal)
}
