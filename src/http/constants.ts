/**
 * Defaults of the registry HTTP port ({@link startRegistryHttp}), in
 * milliseconds where they are durations. Each is applied once, with `??`.
 */

/** Address the registry HTTP server binds to: loopback only. */
export const DEFAULT_HTTP_HOST = '127.0.0.1'

/** Host names every server answers to, whatever it is bound to. */
export const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]']

/** Most open HTTP connections; past it the oldest idle one is closed, or the new one refused if none is idle. */
export const DEFAULT_HTTP_MAX_CONNECTIONS = 256

/** How long a client has to send a request's headers, from connecting or from the end of the previous answer. */
export const DEFAULT_HTTP_HEADERS_TIMEOUT = 5_000

/** How long a client has to send a whole request. */
export const DEFAULT_HTTP_REQUEST_TIMEOUT = 10_000

/** How long an idle keep-alive connection stays open. */
export const DEFAULT_HTTP_KEEP_ALIVE_TIMEOUT = 2_000

/** How long a connection may pass no data at all (a client that stops reading an answer) before it is closed. */
export const DEFAULT_HTTP_IDLE_TIMEOUT = 30_000

/** How often the header and request timeouts are checked (Node's own default, 30 s, lets a slow client keep its socket 6 times too long). */
export const HTTP_TIMEOUT_CHECK_INTERVAL = 250

/** Most `/api/...` requests answered at once; the rest get 503 with `Retry-After`. */
export const DEFAULT_HTTP_MAX_CONCURRENT_REQUESTS = 32

/** How long a snapshot of the registry's services serves `/api/services` before it is rebuilt. */
export const DEFAULT_SNAPSHOT_INTERVAL = 2_000

/** Most services one snapshot holds. */
export const DEFAULT_SNAPSHOT_MAX_SERVICES = 1_000

/** Most instances one service shows in a snapshot. */
export const DEFAULT_SNAPSHOT_MAX_INSTANCES_PER_SERVICE = 100

/** Most instances one snapshot holds in all (each is verified once: about 0.5 ms of CPU). */
export const DEFAULT_SNAPSHOT_MAX_INSTANCES = 2_000

/** Most bytes of JSON one snapshot holds. */
export const DEFAULT_SNAPSHOT_MAX_BYTES = 4 * 1024 * 1024

/** Services in one `/api/services` page when no `limit` is given. */
export const DEFAULT_PAGE_LIMIT = 100

/** Largest `limit` a page may ask for. */
export const MAX_PAGE_LIMIT = 1_000

/** How many single-service answers (`/api/services/NAME` for a service past the snapshot's cap) are kept. */
export const SERVICE_CACHE_SIZE = 64

/** Most `/api/events` streams open at once; the next one gets 503 with `Retry-After`. */
export const DEFAULT_HTTP_MAX_EVENT_CLIENTS = 32

/** Time between two heartbeat comments on an `/api/events` stream (the idle timeout closes a connection silent for 30 s). */
export const DEFAULT_EVENT_HEARTBEAT_INTERVAL = 15_000

/** How long changes are gathered before they are pushed to `/api/events` streams. */
export const EVENT_FLUSH_DELAY = 100
