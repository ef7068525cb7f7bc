/**
 * Default values for every netget option, in milliseconds where they are
 * durations. Each is applied once, with `??`, where the options are read.
 */

/** The kind of node created when no `nodeType` is given. */
export const DEFAULT_NODE_TYPE = 'service'

/** The network a node joins when none is given. */
export const DEFAULT_NETWORK = 'development'

/** Where data directories live by default (relative to the working directory): `<root>/<network>/<name>`. */
export const DATA_DIR_ROOT = '.netget'

/** How long a published service record stays valid. */
export const DEFAULT_RECORD_TTL = 10 * 60_000

/** The longest validity a reader accepts for a record (plus {@link CLOCK_SKEW_TOLERANCE}). */
export const MAX_RECORD_TTL = 24 * 60 * 60_000

/** How far apart two clocks may be before a record looks expired or from the future. */
export const CLOCK_SKEW_TOLERANCE = 60_000

/** How often a service re-publishes its record; must be shorter than the TTL. */
export const DEFAULT_REANNOUNCE_INTERVAL = 3 * 60_000

/** Random spread applied to every re-announce, as a fraction of the interval. */
export const DEFAULT_REANNOUNCE_JITTER = 0.1

/** How often tracked instances are pinged. */
export const DEFAULT_HEALTH_INTERVAL = 10_000

/** How long one ping may take before it counts as a failure. */
export const DEFAULT_HEALTH_TIMEOUT = 2_000

/** Consecutive failed pings after which a healthy instance becomes unhealthy. */
export const DEFAULT_HEALTH_FAILURE_THRESHOLD = 3

/** Default bound on one public async operation when the caller gives no signal. */
export const DEFAULT_OPERATION_TIMEOUT = 10_000

/** How long one request to one registry may take. */
export const DEFAULT_REQUEST_TIMEOUT = 3_000

/** Largest marshalled liveness attestation a node accepts, in bytes. */
export const MAX_ATTESTATION_BYTES = 1024

/**
 * Clock difference a reader allows between itself and a registry when it
 * judges an attestation's `measuredAt` and `expiresAt`, in ms (liveness is
 * short-lived, so far less than {@link CLOCK_SKEW_TOLERANCE}).
 */
export const ATTESTATION_CLOCK_SKEW = 5_000

/** The longest validity (`expiresAt - measuredAt`) a reader accepts for an attestation. */
export const MAX_ATTESTATION_TTL = 5 * 60_000

/**
 * How far a publisher's smoothed RTT may move from the one in its signed
 * attestation, as a fraction of the signed RTT, before a registry re-signs
 * it (both this and {@link ATTESTATION_RTT_FLOOR} must be exceeded).
 */
export const ATTESTATION_RTT_BAND = 0.25

/** How far, in ms, a publisher's smoothed RTT may move from the signed one before a registry re-signs (with {@link ATTESTATION_RTT_BAND}). */
export const ATTESTATION_RTT_FLOOR = 1

/**
 * The part of an attestation's validity after which a registry re-signs it
 * even though nothing changed: at half of it, so a steady publisher's
 * attestation always has at least half its validity left.
 */
export const ATTESTATION_RESIGN_AFTER = 0.5

/** Smoothing factor of round-trip times (exponentially weighted: new = old + α × (sample − old)). */
export const RTT_SMOOTHING = 0.25

/** Most services one lookup stream may subscribe to. */
export const MAX_SUBSCRIPTIONS_PER_STREAM = 64

/** Most subscriptions a registry serves at once, over every stream. */
export const MAX_SUBSCRIPTIONS = 10_000

/** Most changes waiting to be pushed on one stream; beyond it the subscriber is told to resync. */
export const MAX_PUSH_BACKLOG = 1_024

/** How often a watch asks a registry that cannot push, in ms. */
export const DEFAULT_WATCH_POLL_INTERVAL = 5_000

/** Most changes a watch holds for an iterator that is not reading; beyond it the iterator fails. */
export const MAX_WATCH_QUEUE = 10_000

/** Most service names whose last answer a node keeps for `allowStale`. */
export const MAX_CACHED_ANSWERS = 1_000

/** How long a registry keeps an idle lookup stream open. */
export const LOOKUP_IDLE_TIMEOUT = 5 * 60_000

/** First delay before redialing a lost registry. */
export const DEFAULT_REDIAL_MIN_DELAY = 500

/** Longest delay between two redials of a lost registry. */
export const DEFAULT_REDIAL_MAX_DELAY = 30_000

/** How long one dial to a registry may take. */
export const DEFAULT_DIAL_TIMEOUT = 5_000

/** How often a registry deletes expired records from its store. */
export const DEFAULT_RECORD_CLEANUP_INTERVAL = 60_000

/** Largest marshalled envelope a node accepts or publishes, in bytes. */
export const MAX_RECORD_BYTES = 16 * 1024

/** Largest JSON-encoded metadata a service may publish, in bytes. */
export const MAX_METADATA_BYTES = 8 * 1024

/** Most multiaddrs one record may carry. */
export const MAX_RECORD_MULTIADDRS = 32

/** Most records in one lookup answer (one page; see {@link MAX_LOOKUP_PAGE_BYTES}). */
export const MAX_LOOKUP_RESULTS = 1_000

/** Network names: 1 to 32 lowercase letters, digits and inner dashes. */
export const NETWORK_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/

/** Service names: 1 to 64 letters, digits, and inner `.`, `_` or `-`. */
export const SERVICE_NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$/

/** Where a registry listens when no `listen` option is given. */
export const DEFAULT_REGISTRY_LISTEN = ['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws']

/** Where a service node listens when no `listen` option is given. */
export const DEFAULT_SERVICE_LISTEN = ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws']

/** Addresses a node publishes instead of its listen addresses when no `announce` option is given: none. */
export const DEFAULT_ANNOUNCE: string[] = []

/** Connection limit raised for registries, which every peer of a network connects to. */
export const REGISTRY_MAX_CONNECTIONS = 2_000

/** Inbound connections per second accepted from one IP address by a registry. */
export const REGISTRY_INBOUND_CONNECTION_THRESHOLD = 500

/**
 * Inbound connections per second accepted from one IP address by other nodes.
 * As high as a registry's: every peer that discovers a service pings it, and
 * a refused first ping makes the instance unhealthy for that peer, so 100
 * peers behind one NAT discovering at once must all get in.
 */
export const SERVICE_INBOUND_CONNECTION_THRESHOLD = 500

/** Shortest time a registry keeps a provider entry (at least the record TTL). */
export const MIN_PROVIDER_VALIDITY = 60 * 60_000

/** Connection limit for other Node peers. */
export const SERVICE_MAX_CONNECTIONS = 300

/** Concurrent ping streams per connection (libp2p's default of 1–2 collides with kad-dht). */
export const PING_MAX_STREAMS = 8

/**
 * Time between two muxer-level pings of a connection, in ms (see
 * `ConnectionWatch`); a ping unanswered for this long closes the connection,
 * so a dead one is closed 10–20 s after it went silent.
 */
export const CONNECTION_WATCH_INTERVAL = 10_000

/** The libp2p ping protocol id. */
export const PING_PROTOCOL = '/ipfs/ping/1.0.0'

/** Bytes of one libp2p ping (and of its echo). */
export const PING_LENGTH = 32

/**
 * How long netget's ping handler keeps one inbound ping stream open, in ms:
 * longer than any sensible `healthInterval`, so a peer can ping on one warm
 * stream (see `WarmPings`); @libp2p/ping's default is 10 s. The streams per
 * connection stay bounded by {@link PING_MAX_STREAMS}, and yamux closes a
 * stream idle for 120 s anyway.
 */
export const PING_STREAM_TIMEOUT = 300_000

/** How long closing a one-off ping stream may take, in ms, before it is reset. */
export const PING_CLOSE_TIMEOUT = 2_000

/** Environment variable naming a bootstrap file to use instead of the default. */
export const BOOTSTRAP_FILE_ENV = 'NETGET_BOOTSTRAP'

/** The version of the bootstrap.json format described in the README. */
export const BOOTSTRAP_FILE_VERSION = 1

/** File in a data directory holding the node's Ed25519 private key (libp2p protobuf encoding), mode 0600. */
export const KEY_FILE = 'peer.key'

/** File in a data directory holding the pid of the process using it. */
export const LOCK_FILE = 'lock'

/** How long a credential is valid when `network grant` is given no `--ttl`: a day, so a credential that leaks or is revoked dies on its own within a day even where the revocation never arrives, while a daily renewal job keeps honest peers going. */
export const DEFAULT_CREDENTIAL_TTL = 24 * 60 * 60_000

/** The longest validity a credential may have; a revocation is kept this long after it was issued, since no credential it revokes can outlive it. */
export const MAX_CREDENTIAL_TTL = 30 * 24 * 60 * 60_000

/** Largest credential or revocation envelope accepted, in bytes. */
export const MAX_CREDENTIAL_BYTES = 4 * 1024

/** Most name patterns one `publish` credential may carry. */
export const MAX_CREDENTIAL_NAMES = 64

/** How often a node checks whether its credential file was replaced, and peers refresh revocations from their registries. */
export const DEFAULT_TRUST_REFRESH_INTERVAL = 10_000

/** How long a registry of a read-restricted network waits for a new connection's credential before refusing its requests, in ms: half a lookup request's timeout ({@link DEFAULT_REQUEST_TIMEOUT}), so a refused asker hears why before it gives up. */
export const CREDENTIAL_WAIT_TIMEOUT = 1_500

/** How often a node of a closed network asks its registries for revocations. */
export const DEFAULT_REVOCATION_REFRESH_INTERVAL = 30_000

/** A network as records and keys name it: its name, or for a closed network `<name>@<authority peer ID>`. */
export const NETWORK_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?(?:@[1-9A-HJ-NP-Za-km-z]{32,64})?$/

/** Most envelope bytes in one lookup answer page (1 MiB); a page always holds at least one record. */
export const MAX_LOOKUP_PAGE_BYTES = 1024 * 1024

/** Most records a node reads from one registry for one lookup, over every page. */
export const DEFAULT_LOOKUP_CLIENT_LIMIT = 10_000

/** Most lookup requests a node has sent on one lookup stream and not yet had answered. */
export const MAX_PIPELINED_LOOKUPS = 16

/** Concurrent record put streams (docs/PROTOCOL.md §5.1) a registry accepts per connection. */
export const MAX_PUT_STREAMS = 8

/** Most unread request bytes a registry buffers per lookup stream before resetting it. */
export const MAX_LOOKUP_READ_BUFFER = 64 * 1024

/** Most records a registry stores, of every service together. */
export const DEFAULT_MAX_STORED_RECORDS = 100_000

/** Most envelope bytes a registry stores, of every service together (256 MiB). */
export const DEFAULT_MAX_STORED_BYTES = 256 * 1024 * 1024

/** Most records a registry stores for one service name. Equal to {@link DEFAULT_LOOKUP_CLIENT_LIMIT}, so one lookup can read them all. */
export const DEFAULT_MAX_RECORDS_PER_NAME = 10_000

/** Most records a registry stores signed by one key (one peer ID), over every service name. */
export const DEFAULT_MAX_RECORDS_PER_SIGNER = 64

/** Most records a registry stores whose signer was connected to it from one IP address when they were stored. */
export const DEFAULT_MAX_RECORDS_PER_ADDRESS = 5_000

/** Most records a registry stores that were put while their signer was not connected to it (relayed by another peer). */
export const DEFAULT_MAX_RELAYED_RECORDS = 10_000

/** Most relayed records (see {@link DEFAULT_MAX_RELAYED_RECORDS}) a registry stores for one service name. */
export const DEFAULT_MAX_RELAYED_RECORDS_PER_NAME = 1_000

/**
 * How long an inbound connection may take to finish its handshake (Noise and
 * Yamux) before it is closed, in ms. libp2p's default is 10 s, long enough for
 * idle sockets that never handshake to hold pending slots. 3 s was tried: on
 * 2 cores under load ≈ 10, 100 peers handshaking at once with one registry in
 * one process timed out and redialled in rounds, and not all got in within 30 s.
 */
export const DEFAULT_INBOUND_UPGRADE_TIMEOUT = 5_000

/**
 * Most inbound connections still in their handshake from one IP address. Past
 * it, a new connection from that address closes the address's oldest pending
 * one; see `src/libp2p/pending-inbound.ts`. Above 100 peers behind one NAT
 * connecting at once (the load test's case).
 */
export const MAX_PENDING_INBOUND_PER_IP = 128

/**
 * Most inbound connections in their handshake at once, from all addresses
 * together (libp2p's `maxIncomingPendingConnections`), when it is not capped
 * lower by `maxConnections`.
 */
export const MAX_PENDING_INBOUND = 500

/** Most health pings one node runs at once (discovery and ticks together); the rest wait for a slot. */
export const MAX_CONCURRENT_HEALTH_CHECKS = 64

/** Most health pings one discovery runs at once. */
export const DISCOVERY_CONCURRENT_CHECKS = 16

/** File in a data directory holding the highest record `seq` this identity published (decimal text), the seq high-water mark. */
export const SEQ_FILE = 'seq'

/** Most addresses of one discovered record a browser peer dials (the first ones, in the record's order). */
export const BROWSER_MAX_DIAL_ADDRESSES = 4

/**
 * Most records a registry stores that were delivered through one connection
 * (put by the peer on it, signed by it or not). An honest publisher puts a
 * few records (at most {@link DEFAULT_MAX_RECORDS_PER_SIGNER} of its own) and
 * the odd kad correction of another's; one connection with thousands of
 * throwaway keys stops here. The count is of records stored now; it is
 * forgotten when the connection closes (the per-IP quota still holds).
 */
export const DEFAULT_MAX_RECORDS_PER_CONNECTION = 256

/**
 * Most records a registry stores that were delivered through connections
 * from one remote IP address (many peers behind one NAT share it).
 */
export const DEFAULT_MAX_RECORDS_PER_REMOTE_ADDRESS = 5_000

/**
 * Sustained rate of record puts (kad `PUT_VALUE` of a netget key) a registry
 * accepts through one connection, in puts per second; past the burst
 * ({@link DEFAULT_PUT_BURST}) a put over the rate is refused before its
 * signature is checked.
 */
export const DEFAULT_PUTS_PER_SECOND = 20

/** Puts one connection may make at once before {@link DEFAULT_PUTS_PER_SECOND} applies (the token bucket's size). */
export const DEFAULT_PUT_BURST = 100

/** How often a service check (option `checks`) runs, counted from the end of its previous run, in ms. */
export const DEFAULT_CHECK_INTERVAL = 10_000

/** How long one run of a service check may take before it counts as `critical`, in ms. */
export const DEFAULT_CHECK_TIMEOUT = 2_000

/**
 * How long a service's checks may stay `critical` before it withdraws its
 * record (Consul's `DeregisterCriticalServiceAfter`), in ms; 0 never
 * withdraws.
 */
export const DEFAULT_DEREGISTER_CRITICAL_AFTER = 60_000

/** Most checks one node runs (option `checks`). */
export const MAX_CHECKS = 32

/** Longest check name, in characters. */
export const MAX_CHECK_NAME_LENGTH = 64

/** Longest output kept of one check run (an HTTP body excerpt, an error message), in characters. */
export const MAX_CHECK_OUTPUT_LENGTH = 256

/** How often a registry reconciles its records with each connected peer registry (docs/PROTOCOL.md §17), in ms. */
export const DEFAULT_SYNC_INTERVAL = 30_000

/** How long one sync session with a peer registry may take, in ms. */
export const SYNC_SESSION_TIMEOUT = 60_000

/** How long a registry waits after a record is accepted before pushing it to its peer registries, collecting others meanwhile, in ms. */
export const SYNC_PUSH_DELAY = 20

/** Most peer registries a registry exchanges records with, and most registries a node learns from one answer. */
export const MAX_SYNC_PEERS = 16

/** Most registries a service or client node keeps as fallbacks, learnt from its registries. */
export const MAX_FALLBACK_REGISTRIES = 16

/** Most networks one registry process serves (option `networks`, CLI `--network` repeated). */
export const MAX_SERVED_NETWORKS = 16
