import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import type { Case } from './cases.js'
import type { HeapProfRequest } from './heap-profile.js'
import type { RunResult, RunSpec } from './measure.js'

const TASKSET = '/usr/bin/taskset'
const SERVER_CPU = 1
const CLIENT_CPU = 0

/** canPin says whether the server and the clients can each get a CPU of their own. */
export function canPin(): boolean {
  return cpus().length >= 2 && existsSync(TASKSET)
}

// Pinned, the server and the client each own a CPU: otherwise the scheduler
// sometimes puts both on one CPU for a whole run, and that run measures the
// scheduler, not the client.
function start(file: string, args: string[], cpu: number, pin: boolean, execPath = process.execPath, nodeFlags: string[] = []): ChildProcess {
  const argv = ['--expose-gc', ...nodeFlags, fileURLToPath(new URL(file, import.meta.url)), ...args]
  const [command, rest] = pin ? [TASKSET, ['-c', String(cpu), execPath, ...argv]] : [execPath, argv]
  return spawn(command, rest, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
}

function nextMessage<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`${what} exited with code ${code}`))
    child.once('exit', onExit)
    child.once('message', (message) => {
      child.off('exit', onExit)
      resolve(message as T)
    })
  })
}

/** ServerProcess is a running benchmark server: its URLs, one per origin. */
export interface ServerProcess {
  urls: string[]
  /** proxy is the URL of the local HTTP proxy of a proxy case. */
  proxy: string | undefined
  /** ca is the certificate of a TLS case's server, which its clients trust. */
  ca: string | undefined
  /** connections resolves with how many TLS connections the server accepted so far (0 for a plain server). */
  connections(): Promise<number>
  stop(): void
}

/**
 * startServer starts the server `c` needs in its own process, on the Node
 * running the bench whatever Node the clients run on, and resolves once it
 * listens.
 */
export async function startServer(c: Case, pin: boolean): Promise<ServerProcess> {
  const child = start('./server.js', [c.server, String(c.origins), String(c.bodyBytes), ...(c.proxy === true ? ['proxy'] : [])], SERVER_CPU, pin)
  const { ports, proxyPort, ca } = await nextMessage<{ ports: number[]; proxyPort?: number; ca?: string }>(child, 'server')
  const proxy = proxyPort === undefined ? undefined : `http://127.0.0.1:${proxyPort}`
  const scheme = c.tls === true ? 'https' : 'http'
  const connections = async (): Promise<number> => {
    const answer = nextMessage<{ connections: number }>(child, 'server')
    child.send('connections')
    return (await answer).connections
  }
  return { urls: ports.map((p) => `${scheme}://127.0.0.1:${p}/`), proxy, ca, connections, stop: () => void child.kill() }
}

/** WorkerProcess is one client's long-lived process, running one RunSpec at a time. */
export interface WorkerProcess {
  run(spec: RunSpec): Promise<RunResult>
  /** stop ends the process and resolves once it has exited (and written its profile, if any). */
  stop(): Promise<void>
}

/** WorkerOptions says how to run a client's process. */
export interface WorkerOptions {
  pin: boolean
  /** execPath is the `node` binary that runs the client. */
  execPath: string
  /** cpuProfDir, when set, is where the process writes a CPU profile when it exits. */
  cpuProfDir?: string | undefined
  /** heapProf, when set, makes the process write a heap profile when it exits (see worker.ts). */
  heapProf?: HeapProfRequest | undefined
}

/**
 * startWorker starts the process of the client with id `clientId` and
 * resolves once the client is loaded.
 */
export async function startWorker(clientId: string, options: WorkerOptions): Promise<WorkerProcess> {
  const { cpuProfDir, heapProf } = options
  const profile = cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${clientId}.cpuprofile`]
  const child = start('./worker.js', heapProf === undefined ? [clientId] : [clientId, heapProf.dir, heapProf.survivors ? 'survivors' : 'all'], CLIENT_CPU, options.pin, options.execPath, profile)
  await nextMessage(child, `client ${clientId}`)
  return {
    run: async (spec) => {
      child.send(spec)
      const answer = await nextMessage<{ result?: RunResult; error?: string }>(child, `client ${clientId}`)
      if (answer.result === undefined) throw new Error(`client ${clientId}: ${answer.error}`)
      return answer.result
    },
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.disconnect()
    }),
  }
}
