import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryDatastore, MountDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import { Key } from 'interface-datastore'
import { MIN_PROVIDER_VALIDITY, REGISTRY_INBOUND_CONNECTION_THRESHOLD, SERVICE_INBOUND_CONNECTION_THRESHOLD } from './constants.js'
import { Discovery } from './discovery/discovery.js'
import { ListenError } from './errors.js'
import { HealthMonitor } from './health/health-monitor.js'
import { loadOrCreateKey, lockDataDir } from './identity/key-store.js'
import { createNetgetLibp2p } from './network/create-node.js'
import { dhtDatastorePrefix } from './network/namespace.js'
import { RegistryConnections } from './network/registry-connections.js'
import { LookupServer } from './registry/lookup-server.js'
import { RecordIndex } from './registry/record-index.js'
import type { Health } from './health/health-monitor.js'
import type { NetgetLibp2p } from './network/create-node.js'
import type { RegistryAddress } from './network/registry-address.js'
import type { NetgetConfig } from './options.js'
import type { VerifiedRecord } from './records/verify.js'
import type { Announcer } from './service/announcer.js'
import type { Logger, PrivateKey } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/** Everything a started node runs; made by {@link startRuntime}, torn down by {@link stopRuntime}. */
export interface Runtime {
  libp2p: NetgetLibp2p
  privateKey: PrivateKey
  registries: RegistryConnections
  discovery: Discovery
  health: HealthMonitor<VerifiedRecord>
  /** Set once the node registers its service. */
  announcer?: Announcer
  /** Registries only. */
  index?: RecordIndex
  lookupServer?: LookupServer
  cleanupTimer?: ReturnType<typeof setInterval>
  closeStore(): Promise<void>
  unlock?(): Promise<void>
}

/** What the runtime reports to the node that owns it. */
export interface RuntimeEvents {
  onRegistryConnected(registry: RegistryAddress): void
  onRegistryDisconnected(registry: RegistryAddress): void
  onHealthChange(record: VerifiedRecord, health: Health): void
}

/**
 * Starts what a node runs: locks the data dir, loads or creates the identity,
 * opens the datastore (LevelDB for a registry's DHT keys, memory otherwise),
 * starts libp2p listening, and for registries the record index, the lookup
 * server and the expired-record cleanup; then starts connecting to the
 * registries and the health monitor. On failure, undoes what it did.
 */
export async function startRuntime (config: NetgetConfig, registries: RegistryAddress[], log: Logger, events: RuntimeEvents): Promise<Runtime> {
  const dataDir = config.dataDir
  const unlock = dataDir === false ? undefined : await lockDataDir(dataDir)

  try {
    const privateKey = config.privateKey ?? (dataDir === false ? await generateKeyPair('Ed25519') : await loadOrCreateKey(dataDir))
    const isRegistry = config.nodeType === 'registry'
    const level = isRegistry && dataDir !== false ? new LevelDatastore(join(dataDir, 'datastore')) : undefined
    await level?.open()
    // only the DHT's records and provider entries go to disk; libp2p's
    // peer store changes on every stream and stays in memory
    const store: Datastore = level === undefined
      ? new MemoryDatastore()
      : new MountDatastore([
        { prefix: new Key(dhtDatastorePrefix(config.network)), datastore: level },
        { prefix: new Key('/'), datastore: new MemoryDatastore() }
      ])
    const closeStore = async (): Promise<void> => { await level?.close() }
    const index = isRegistry ? new RecordIndex({ network: config.network, datastore: store, datastorePrefix: dhtDatastorePrefix(config.network), log: log.newScope('index') }) : undefined
    await index?.load()

    const libp2p = await createNetgetLibp2p({
      privateKey,
      network: config.network,
      dhtServer: isRegistry,
      listen: config.listen,
      announce: config.announce,
      datastore: index?.datastore ?? store,
      maxConnections: config.maxConnections,
      inboundConnectionThreshold: isRegistry ? REGISTRY_INBOUND_CONNECTION_THRESHOLD : SERVICE_INBOUND_CONNECTION_THRESHOLD,
      providerValidity: Math.max(config.recordTtl, MIN_PROVIDER_VALIDITY)
    })
    const registryConnections = new RegistryConnections({
      libp2p,
      network: config.network,
      registries: registries.filter(registry => !registry.peerId.equals(libp2p.peerId)),
      redialMinDelay: config.redialMinDelay,
      redialMaxDelay: config.redialMaxDelay,
      dialTimeout: config.dialTimeout,
      log: log.newScope('registries'),
      onConnected: events.onRegistryConnected,
      onDisconnected: events.onRegistryDisconnected
    })
    const runtime: Runtime = {
      libp2p,
      privateKey,
      closeStore,
      unlock,
      index,
      registries: registryConnections,
      discovery: new Discovery({ libp2p, network: config.network, registries: registryConnections, requestTimeout: config.requestTimeout, log: log.newScope('discovery') }),
      health: new HealthMonitor<VerifiedRecord>({
        libp2p,
        interval: config.healthInterval,
        timeout: config.healthTimeout,
        failureThreshold: config.healthFailureThreshold,
        log: log.newScope('health'),
        onChange: events.onHealthChange
      })
    }

    try {
      await libp2p.start()
    } catch (err) {
      await Promise.resolve(libp2p.stop()).catch(() => {})
      await closeStore()
      const inUse = /EADDRINUSE/.test(String((err as Error).message))
      const reason = inUse ? 'a port is already in use; stop the process using it, or choose other "listen" addresses (tcp/0 picks a free port)' : (err as Error).message.split('\n')[0]
      throw new ListenError(`Cannot listen on ${config.listen.join(', ')}: ${reason}`, config.listen, inUse, { cause: err })
    }

    if (index !== undefined) {
      runtime.lookupServer = new LookupServer({ libp2p, network: config.network, index, log: log.newScope('lookup') })
      await runtime.lookupServer.start()
      runtime.cleanupTimer = setInterval(() => {
        index.prune().catch(err => { log('pruning expired records failed - %e', err) })
      }, config.recordCleanupInterval)
    }

    runtime.registries.start()
    runtime.health.start()
    return runtime
  } catch (err) {
    await unlock?.()
    throw err
  }
}

/** Stops everything {@link startRuntime} started, in order; clears every timer and closes every connection. */
export async function stopRuntime (runtime: Runtime): Promise<void> {
  runtime.announcer?.stop()
  runtime.health.stop()
  runtime.discovery.stop()
  runtime.registries.stop()
  clearInterval(runtime.cleanupTimer)
  await runtime.lookupServer?.stop()
  await runtime.libp2p.stop()
  await runtime.closeStore()
  await runtime.unlock?.()
}
