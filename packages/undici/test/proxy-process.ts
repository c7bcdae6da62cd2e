import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'

/** A forward HTTP proxy (the npm `proxy` package) running in its own process. */
export interface ProxyProcess {
  /** `http://127.0.0.1:port` */
  url: string
  /** What the proxy was asked, one line each: `CONNECT host:port` or `GET http://host/path`. */
  log: string[]
  /** Stops the process and waits for it to exit. */
  close(): Promise<void>
}

// The package's own `proxy` binary binds every interface; tests stay on loopback.
const SCRIPT = `
import { createServer } from 'node:http'
import { createProxy } from 'proxy'
const proxy = createProxy(createServer())
proxy.on('connect', (req) => process.stdout.write('CONNECT ' + req.url + '\\n'))
proxy.on('request', (req) => process.stdout.write(req.method + ' ' + req.url + '\\n'))
proxy.listen(0, '127.0.0.1', () => process.stdout.write(String(proxy.address().port) + '\\n'))
`

/** startProxy starts the proxy process on 127.0.0.1:0 and resolves once it listens. */
export async function startProxy(): Promise<ProxyProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', SCRIPT], {
    cwd: new URL('..', import.meta.url),
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = once(child, 'exit')
  const log: string[] = []
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    let port: number | undefined
    child.stdout!.on('data', (data: Buffer) => {
      out += data.toString()
      const lines = out.split('\n')
      out = lines.pop()!
      for (const line of lines) {
        if (port === undefined) resolve((port = Number(line)))
        else log.push(line)
      }
    })
    child.once('exit', (code) => reject(new Error(`proxy process exited with ${code} before listening`)))
  })
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill()
      await exited
    },
  }
}
