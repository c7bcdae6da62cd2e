import { mkdir, writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'

/**
 * SAMPLING_INTERVAL is the mean number of bytes between two sampled
 * allocations, in bytes: V8's default (32 KiB) samples too few of a small
 * request's objects to tell its functions apart.
 */
export const SAMPLING_INTERVAL = 4096

/** HeapProfileMeta is written beside each profile: what the profile's bytes are to be divided by. */
export interface HeapProfileMeta {
  /** requests is how many requests the process made while profiled, warm-ups included. */
  requests: number
  node: string
  samplingInterval: number
}

/** HeapProfile is a sampling allocation profile being recorded in this process. */
export interface HeapProfile {
  /** stop ends the profile and writes `dir/<id>.heapprofile` (DevTools' format) and `dir/<id>.meta.json`. */
  stop(dir: string, id: string, requests: number): Promise<void>
}

/**
 * startHeapProfile starts V8's sampling heap profiler in this process,
 * keeping the samples of objects that garbage collection has already
 * collected: the profile is then of everything allocated (where the bytes a
 * request costs go), not of what is still alive at the end.
 */
export async function startHeapProfile(): Promise<HeapProfile> {
  const session = new Session()
  session.connect()
  await session.post('HeapProfiler.enable')
  // The include* flags are in V8's protocol (Node >= 20) but not yet in @types/node.
  const params = { samplingInterval: SAMPLING_INTERVAL, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }
  await session.post('HeapProfiler.startSampling', params as { samplingInterval: number })
  return {
    stop: async (dir, id, requests) => {
      const { profile } = await session.post('HeapProfiler.stopSampling')
      session.disconnect()
      await mkdir(dir, { recursive: true })
      const meta: HeapProfileMeta = { requests, node: process.version, samplingInterval: SAMPLING_INTERVAL }
      await writeFile(join(dir, `${id}.heapprofile`), JSON.stringify(profile))
      await writeFile(join(dir, `${id}.meta.json`), JSON.stringify(meta))
    },
  }
}
