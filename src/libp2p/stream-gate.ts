import type { Connection, StreamHandler } from '@libp2p/interface'

/** Decides whether the peer on `connection` may use a gated protocol. */
export type StreamGate = (connection: Connection) => Promise<boolean>

/** Why a gated stream was reset. */
export class StreamRefusedError extends Error {
  static name = 'StreamRefusedError'
  name = 'StreamRefusedError'
}

/**
 * Wraps a libp2p service factory so that every protocol handler it registers
 * is first passed through `wrap`. It works by handing the service a registrar
 * whose `handle()` wraps the handler, so the service itself is unchanged.
 * (libp2p 3's stream middleware would be the natural tool, but in 3.3.x each
 * inbound stream appends its handler to the shared middleware list,
 * js-libp2p #3534.)
 */
export function wrapHandlers<Service, Components extends { registrar: unknown }> (factory: (components: Components) => Service, wrap: (protocol: string, handler: StreamHandler) => StreamHandler): (components: Components) => Service {
  return components => factory(new Proxy(components, {
    get (target, property) {
      const value = Reflect.get(target, property)
      return property === 'registrar' ? wrappingRegistrar(value as object, wrap) : value
    }
  }))
}

/**
 * Wraps a libp2p service factory so that its protocol handlers run only for
 * connections `gate` admits; other streams are reset at once.
 */
export function gateStreams<Service, Components extends { registrar: unknown }> (factory: (components: Components) => Service, gate?: StreamGate): (components: Components) => Service {
  if (gate === undefined) {
    return factory
  }

  return wrapHandlers(factory, (protocol, handler) => async (stream, connection) => {
    if (await gate(connection)) {
      await handler(stream, connection)
      return
    }

    stream.abort(new StreamRefusedError(`${protocol} needs a credential of this network; present one with the trust protocol first`))
  })
}

function wrappingRegistrar (registrar: object, wrap: (protocol: string, handler: StreamHandler) => StreamHandler): object {
  return new Proxy(registrar, {
    get (target, property) {
      const value = Reflect.get(target, property)

      if (typeof value !== 'function') {
        return value
      }

      if (property !== 'handle') {
        return value.bind(target)
      }

      return async (protocol: string, handler: StreamHandler, options?: unknown) => value.call(target, protocol, wrap(protocol, handler), options)
    }
  })
}
