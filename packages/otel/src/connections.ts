import type { Attributes, Meter, ObservableResult } from '@opentelemetry/api'
import { serverOf } from './attributes.js'
import type { StatsSource } from './options.js'

/** The pool key `scheme://host:port`, ahead of ` via <proxy>` for a proxied pool. */
function serverOfKey(key: string): Attributes | undefined {
  const target = key.split(' via ')[0]!
  let url: URL
  try {
    url = new URL(target)
  } catch {
    return undefined
  }
  // `http://* via <proxy>`: the shared forwarding connections to a proxy have no one server.
  if (url.hostname === '*' || url.hostname === '%2A') return undefined
  return { ...serverOf(url), 'url.scheme': url.protocol.slice(0, -1) }
}

/** Unregisters what {@link observeConnections} registered. */
export type StopObserving = () => void

/**
 * observeConnections registers `http.client.open_connections` (an
 * asynchronous up-down counter, `{connection}`) on `meter`, read from
 * `source.stats()` at each collection: one point per pool and
 * `http.connection.state` (`active`, `idle`). The source is held weakly, so
 * a Transport dropped without `close()` is not kept alive by the meter.
 */
export function observeConnections(meter: Meter, source: StatsSource): StopObserving {
  const counter = meter.createObservableUpDownCounter('http.client.open_connections', {
    description: 'Number of outbound HTTP connections that are currently active or idle on the client.',
    unit: '{connection}',
  })
  const ref = new WeakRef(source)
  const callback = (result: ObservableResult): void => {
    const current = ref.deref()
    if (current === undefined) return
    // A direct and a proxied pool to one server are one series: summed.
    const points = new Map<string, { value: number; attributes: Attributes }>()
    const add = (server: Attributes, state: 'active' | 'idle', value: number): void => {
      const id = `${String(server['url.scheme'])} ${String(server['server.address'])} ${String(server['server.port'])} ${state}`
      const point = points.get(id)
      if (point === undefined) points.set(id, { value, attributes: { ...server, 'http.connection.state': state } })
      else point.value += value
    }
    for (const [key, host] of Object.entries(current.stats().hosts)) {
      const server = serverOfKey(key)
      if (server === undefined) continue
      add(server, 'active', host.active)
      add(server, 'idle', host.idle)
    }
    for (const { value, attributes } of points.values()) result.observe(value, attributes)
  }
  counter.addCallback(callback)
  return () => counter.removeCallback(callback)
}
