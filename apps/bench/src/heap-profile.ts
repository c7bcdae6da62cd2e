import { mkdir, writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'

/**
 * SAMPLING_INTERVAL is the mean number of bytes between two sampled
 * allocations, in bytes: V8's default (32 KiB) samples too few of a small
 * request's objects to tell its functions apart.
 */
export const SAMPLING_INTERVAL = 4096

/** HeapProfRequest asks a client process for a heap profile. */
export interface HeapProfRequest {
  /** dir is where the profile is written. */
  dir: string
  /**
   * survivors keeps only the samples of objects that outlived a
   * young-generation GC (promoted, or alive at the end): what makes V8 grow
   * its young generation and the process's RSS. Otherwise every allocation
   * is kept, collected or not.
   */
  survivors: boolean
}

/** HeapProfileMeta is written beside each profile: what the profile's bytes are to be divided by. */
export interface HeapProfileMeta {
  /** requests is how many requests the process made while profiled, warm-ups included. */
  requests: number
  node: string
  samplingInterval: number
  /** survivors: the profile holds only objects that outlived a young-generation GC. */
  survivors?: boolean
}

/** HeapProfile is a sampling allocation profile being recorded in this process. */
export interface HeapProfile {
  /** stop ends the profile and writes `dir/<id>.heapprofile` (DevTools' format) and `dir/<id>.meta.json`. */
  stop(dir: string, id: string, requests: number): Promise<void>
}

/**
 * startHeapProfile starts V8's sampling heap profiler in this process. It
 * keeps the samples of objects a full GC has collected, and unless
 * `survivors` of those a young-generation GC collected: the profile is of
 * everything allocated (where the bytes a request costs go), or of what
 * outlived a young-generation GC; never only of what is alive at the end.
 */
export async function startHeapProfile(survivors = false): Promise<HeapProfile> {
  const session = new Session()
  session.connect()
  await session.post('HeapProfiler.enable')
  // The include* flags are in V8's protocol (Node >= 20) but not yet in @types/node.
  const params = { samplingInterval: SAMPLING_INTERVAL, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: !survivors }
  await session.post('HeapProfiler.startSampling', params as { samplingInterval: number })
  return {
    stop: async (dir, id, requests) => {
      const { profile } = await session.post('HeapProfiler.stopSampling')
      session.disconnect()
      await mkdir(dir, { recursive: true })
      const meta: HeapProfileMeta = { requests, node: process.version, samplingInterval: SAMPLING_INTERVAL, survivors }
      await writeFile(join(dir, `${id}.heapprofile`), JSON.stringify(profile))
      await writeFile(join(dir, `${id}.meta.json`), JSON.stringify(meta))
    },
  }
}
