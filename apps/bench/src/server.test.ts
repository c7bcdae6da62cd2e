import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { listenAll, type Listening } from './server.js'

let servers: Listening | undefined

afterEach(async () => {
  await servers?.close()
  servers = undefined
})

function exchange(port: number, writes: string[], responses: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let text = ''
    socket.on('data', (data) => {
      text += data.toString('latin1')
      if (text.split('HTTP/1.1 200 OK').length - 1 === responses && text.endsWith('hello world')) {
        socket.end()
        resolve(text)
      }
    })
    socket.on('error', reject)
    socket.on('connect', async () => {
      for (const w of writes) await new Promise((done) => socket.write(w, done))
    })
  })
}

const GET = 'GET / HTTP/1.1\r\nhost: x\r\n\r\n'

describe('raw server', () => {
  it('listens on as many ports as asked', async () => {
    servers = await listenAll('raw', 3, 11)
    expect(new Set(servers.ports).size).toBe(3)
  })

  it('answers each of two pipelined requests on one connection', async () => {
    servers = await listenAll('raw', 1, 11)
    const text = await exchange(servers.ports[0]!, [GET + GET], 2)
    expect(text).toContain('content-length: 11\r\n')
  })

  it('answers a request whose head arrives split across writes', async () => {
    servers = await listenAll('raw', 1, 11)
    const text = await exchange(servers.ports[0]!, [GET.slice(0, 20), GET.slice(20, -1), GET.slice(-1)], 1)
    expect(text.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true)
  })
})
