// The wire's floor, shared by ab.mjs and profile.mjs.
import { Client } from 'undici'

/**
 * floorClient, the wire's floor: undici Clients (one request at a time each, as the
 * Transport's conns) driven by `Client.dispatch` with a minimal handler and a
 * free list: what undici's client and parser and the socket cost, with
 * neither undici's API layer (Agent, Pool, BodyReadable) nor ours; `C`
 * Clients at most, for requests to `origin`.
 */
export function floorClient(origin, C) {
  const free = []
  const waiting = []
  const all = []
  const done = (client) => {
    const next = waiting.shift()
    if (next !== undefined) next(client)
    else free.push(client)
  }
  const acquire = () => {
    const client = free.pop()
    if (client !== undefined) return client
    if (all.length < C) {
      const made = new Client(origin, { pipelining: 1 })
      all.push(made)
      return made
    }
    return new Promise((resolve) => waiting.push(resolve))
  }
  const send = (client) =>
    new Promise((resolve, reject) => {
      let length = 0
      client.dispatch(
        { path: '/x', method: 'GET', headers: [], blocking: false },
        {
          onConnect() {},
          onHeaders() {
            return true
          },
          onData(chunk) {
            length += chunk.length
            return true
          },
          onComplete() {
            done(client)
            resolve(length)
          },
          onError(error) {
            done(client)
            reject(error)
          },
        },
      )
    })
  return {
    get: async () => send(await acquire()),
    close: () => Promise.all(all.map((c) => c.close())),
  }
}
