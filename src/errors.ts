/**
 * Every error netget throws on purpose is one of these classes. Check them by
 * `err.name` (works across package copies) or with `instanceof`. Where
 * `@libp2p/interface` already has the concept (a timeout, an abort, a node
 * not started, an unsupported operation, a failed listen, invalid
 * parameters, an invalid message), netget's class extends libp2p's, so
 * `instanceof` either works; netget adds context fields and `cause`.
 */
import {
  AbortError as Libp2pAbortError,
  InvalidMessageError,
  InvalidParametersError,
  ListenError as Libp2pListenError,
  NotStartedError as Libp2pNotStartedError,
  TimeoutError as Libp2pTimeoutError,
  UnsupportedOperationError as Libp2pUnsupportedOperationError
} from '@libp2p/interface'

/** `ErrorOptions` for libp2p's error classes, whose constructors take a message only. */
function withCause (error: Error, options?: ErrorOptions): void {
  if (options !== undefined && 'cause' in options) {
    error.cause = options.cause
  }
}

/** Options given to `new Netget()` or a method are invalid; the message names the option. */
export class InvalidOptionsError extends InvalidParametersError {
  static name = 'InvalidOptionsError'
  name = 'InvalidOptionsError'
  /** The option (or argument) that is wrong, like `network` or `metadata.name`, when one is to blame. */
  readonly option?: string

  constructor (message: string, options?: ErrorOptions & { option?: string }) {
    super(message)
    withCause(this, options)
    this.option = options?.option
  }
}

/** bootstrap.json could not be read or does not have the documented shape. */
export class InvalidBootstrapFileError extends Error {
  static name = 'InvalidBootstrapFileError'
  name = 'InvalidBootstrapFileError'
  /** The file that was read. */
  readonly path: string

  constructor (message: string, path: string, options?: ErrorOptions) {
    super(message, options)
    this.path = path
  }
}

/** A registry that answered but serves another network, seen by {@link NoRegistryReachableError}. */
export interface RegistryMismatch {
  /** The registry's peer ID. */
  peerId: string
  /** The networks it serves (`<name>`, or `<name>@<authority>` when closed); empty when it is no registry at all. */
  networks: string[]
}

/** No registry node of the network could be reached (or none is configured, or those given serve another network). */
export class NoRegistryReachableError extends Error {
  static name = 'NoRegistryReachableError'
  name = 'NoRegistryReachableError'
  /** The network whose registries were tried. */
  readonly network: string
  /** The registries that were reached but serve another network (or none); empty otherwise. */
  readonly mismatched: RegistryMismatch[]

  constructor (message: string, network: string, options?: ErrorOptions & { mismatched?: RegistryMismatch[] }) {
    super(message, options)
    this.network = network
    this.mismatched = options?.mismatched ?? []
  }
}

/** What a failed discovery saw, carried by {@link ServiceNotFoundError}. */
export interface DiscoveryReport {
  /** How many registries answered the lookup. */
  registriesAnswered: number
  /** Whether the DHT was walked too. */
  walkedDht: boolean
  /** Live instances seen before health and the filter left them out. */
  instancesSeen: number
}

/** No live instance of the service was found. */
export class ServiceNotFoundError extends Error {
  static name = 'ServiceNotFoundError'
  name = 'ServiceNotFoundError'
  /** The service name that was looked up. */
  readonly serviceName: string
  /** The network it was looked up in. */
  readonly network: string
  /** Who was asked and what was seen, when a discovery ran. */
  readonly report?: DiscoveryReport

  constructor (message: string, serviceName: string, network: string, options?: ErrorOptions & { report?: DiscoveryReport }) {
    super(message, options)
    this.serviceName = serviceName
    this.network = network
    this.report = options?.report
  }
}

/** An operation did not finish within its timeout. */
export class TimeoutError extends Libp2pTimeoutError {
  static name = 'TimeoutError'
  name = 'TimeoutError'
  /** The timeout that ran out, in ms (undefined when it was not netget's own). */
  readonly timeoutMs?: number
  /** What timed out, like `Discovering "DatabaseService"`. */
  readonly operation?: string

  constructor (message: string, options?: ErrorOptions & { timeoutMs?: number, operation?: string }) {
    super(message)
    withCause(this, options)
    this.timeoutMs = options?.timeoutMs
    this.operation = options?.operation
  }
}

/** The operation was aborted by the caller's signal. */
export class AbortError extends Libp2pAbortError {
  static name = 'AbortError'
  name = 'AbortError'

  constructor (message: string, options?: ErrorOptions) {
    super(message)
    withCause(this, options)
  }
}

/**
 * Why a record or a request was refused: the reason codes of
 * docs/PROTOCOL.md §12, carried by the refusals of netget's own protocols
 * (the record put, the lookup error header). The list and what each code
 * means is in `src/protocol/refusals.ts`.
 */
export type RefusalCode =
  'bad-request' | 'too-large' | 'bad-cursor' |
  'bad-envelope' | 'bad-signature' | 'bad-key-type' | 'wrong-type' | 'bad-record' | 'unsupported-version' |
  'wrong-peer' | 'wrong-network' | 'wrong-name' | 'bad-key' | 'expired' | 'expiry-too-far' |
  'stale-seq' | 'not-authorized' | 'quota' | 'rate-limited' | 'internal'

/**
 * A service record or a protocol message failed verification; the message
 * says which rule it broke, and `code` (when set) is the reason code for it.
 */
export class InvalidRecordError extends InvalidMessageError {
  static name = 'InvalidRecordError'
  name = 'InvalidRecordError'
  /** The rule broken, as a reason code of docs/PROTOCOL.md §12, when the check that failed names one. */
  readonly code?: RefusalCode

  constructor (message: string, options?: ErrorOptions & { code?: RefusalCode }) {
    super(message)
    withCause(this, options)
    this.code = options?.code
  }
}

/** The node is not started, or is stopping, and the operation needs it running. */
export class NotStartedError extends Libp2pNotStartedError {
  static name = 'NotStartedError'
  name = 'NotStartedError'

  constructor (message: string, options?: ErrorOptions) {
    super(message)
    withCause(this, options)
  }
}

/** Another running process holds this data directory. */
export class DataDirLockedError extends Error {
  static name = 'DataDirLockedError'
  name = 'DataDirLockedError'
  /** The locked directory. */
  readonly dataDir: string

  constructor (message: string, dataDir: string, options?: ErrorOptions) {
    super(message, options)
    this.dataDir = dataDir
  }
}

/** The node could not listen on its addresses (`addressInUse`: a port is taken). */
export class ListenError extends Libp2pListenError {
  static name = 'ListenError'
  name = 'ListenError'
  /** The addresses the node tried to listen on. */
  readonly addresses: string[]
  /** True if the failure was a port already in use. */
  readonly addressInUse: boolean

  constructor (message: string, addresses: string[], addressInUse: boolean, options?: ErrorOptions) {
    super(message)
    withCause(this, options)
    this.addresses = addresses
    this.addressInUse = addressInUse
  }
}

/** The data directory or the identity key in it cannot be used (unreadable, unwritable, corrupt). */
export class DataDirError extends Error {
  static name = 'DataDirError'
  name = 'DataDirError'
  /** The directory concerned. */
  readonly dataDir: string

  constructor (message: string, dataDir: string, options?: ErrorOptions) {
    super(message, options)
    this.dataDir = dataDir
  }
}

/** The operation cannot work on this platform or node type (for example, registering from a browser). */
export class UnsupportedOperationError extends Libp2pUnsupportedOperationError {
  static name = 'UnsupportedOperationError'
  name = 'UnsupportedOperationError'

  constructor (message: string, options?: ErrorOptions) {
    super(message)
    withCause(this, options)
  }
}

/** Why a channel closed with an error (see docs/PROTOCOL.md §9). */
export type ChannelErrorCode = 'MESSAGE_TOO_LARGE' | 'MALFORMED_MESSAGE' | 'CHANNEL_CLOSED' | 'CHANNEL_RESET' | 'HANDLER_FAILED'

/**
 * A channel was closed because of a protocol error, or a message could not be
 * sent on it. `code` says why; `remote` is true when the peer reported it.
 */
export class ChannelError extends Error {
  static name = 'ChannelError'
  name = 'ChannelError'
  /** Why the channel closed, or why the message was refused. */
  readonly code: ChannelErrorCode
  /** true if the remote peer closed the channel with this error. */
  readonly remote: boolean

  constructor (message: string, code: ChannelErrorCode, options?: ErrorOptions & { remote?: boolean }) {
    super(message, options)
    this.code = code
    this.remote = options?.remote ?? false
  }
}

/** Why a credential was refused (see docs/PROTOCOL.md, "Credentials"). */
export type CredentialErrorReason = 'missing' | 'malformed' | 'expired' | 'not-yet-valid' | 'wrong-network' | 'wrong-authority' | 'wrong-peer' | 'wrong-role' | 'name-not-granted' | 'revoked'

/**
 * A credential of a closed network is missing or does not allow what was
 * asked. `reason` says which rule failed; the message says what to do.
 */
export class CredentialError extends Error {
  static name = 'CredentialError'
  name = 'CredentialError'
  /** Which rule failed. */
  readonly reason: CredentialErrorReason
  /** The network concerned. */
  readonly network: string

  constructor (message: string, reason: CredentialErrorReason, network: string, options?: ErrorOptions) {
    super(message, options)
    this.reason = reason
    this.network = network
  }
}

/**
 * A registry refused to store a record because a storage quota is full (see
 * `RecordIndexInit.quotas`); `quota` names the one, like `maxRecordsPerName`.
 */
export class QuotaExceededError extends Error {
  static name = 'QuotaExceededError'
  name = 'QuotaExceededError'
  /** The quota that is full. */
  readonly quota: string

  constructor (message: string, quota: string, options?: ErrorOptions) {
    super(message, options)
    this.quota = quota
  }
}

/**
 * A health check found that no address of an instance's record leads to that
 * instance: every one is answered by another peer, or none answers. Counts
 * against the record, never against the peer that does answer there.
 */
export class AddressClaimedError extends Error {
  static name = 'AddressClaimedError'
  name = 'AddressClaimedError'
}

/**
 * Why registries refused a record: `stale-seq`, one holds a newer record of
 * this identity; `refused`, any other refusal (a quota, the put rate, a
 * credential they do not accept, ...): `RecordRejectedError.code` names the
 * rule when a registry said it, else only its log does.
 */
export type RecordRejectionReason = 'stale-seq' | 'refused'

/**
 * Registries refused this node's record, and it was not for lack of a
 * connection: with reason `stale-seq`, a registry holds a record of this same
 * identity with a higher `seq` (seq is wall-clock based, so this node's clock
 * was once ahead, or another node uses the same identity). The message says
 * when re-registering will work again and how to recover.
 */
export class RecordRejectedError extends Error {
  static name = 'RecordRejectedError'
  name = 'RecordRejectedError'
  readonly reason: RecordRejectionReason
  /**
   * The reason code (docs/PROTOCOL.md §12), like `quota` or
   * `not-authorized`, as a registry gave it; `stale-seq` also when a
   * registry that only reset a kad `PUT_VALUE` was found holding a newer
   * record; undefined when registries only reset the put for another
   * reason (kad has no room for one).
   */
  readonly code?: RefusalCode
  /** The network of the record. */
  readonly network: string
  /** The seq this node sent. */
  readonly seq: number
  /** The highest seq a refusing registry holds for this identity. */
  readonly storedSeq: number

  constructor (message: string, init: { reason: RecordRejectionReason, code?: RefusalCode, network: string, seq: number, storedSeq: number }, options?: ErrorOptions) {
    super(message, options)
    this.reason = init.reason
    this.code = init.code
    this.network = init.network
    this.seq = init.seq
    this.storedSeq = init.storedSeq
  }
}

/**
 * A watch's iterator fell more than `MAX_WATCH_QUEUE` changes behind (the
 * loop reading it is too slow). The watch itself goes on (its events still
 * fire, `instances()` stays current): read faster, or watch again.
 */
export class WatchOverflowError extends Error {
  static name = 'WatchOverflowError'
  name = 'WatchOverflowError'
}
