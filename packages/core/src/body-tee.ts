/**
 * teeBody splits a body stream in two, as `ReadableStream.prototype.tee()`
 * does (chunks shared by reference, the source cancelled once both branches
 * are, with both reasons; `disturbed` is called on each read or cancel of a
 * branch), but lazily: the branches have a high-water mark
 * of 0, so nothing is read from the source before one of them is read.
 *
 * A native tee's branches pull at once. For a response body that meant
 * `clone()` alone read the body: a clone of a body that had fully arrived
 * was reported read to the end (`end`) with nobody reading it, and a clone
 * waited on the producer with a read nobody asked for, so that a waiting
 * read could not be told from a consumer's.
 */
export function teeBody(stream: ReadableStream<Uint8Array>, disturbed: (branch: 0 | 1) => void): [ReadableStream<Uint8Array>, ReadableStream<Uint8Array>] {
  const reader = stream.getReader()
  const buffers: [Uint8Array[], Uint8Array[]] = [[], []]
  const cancelled = [false, false]
  const reasons: unknown[] = [undefined, undefined]
  let reading: Promise<void> | undefined
  let closed = false
  let failed = false
  let failure: unknown

  const readOnce = (): Promise<void> =>
    (reading ??= reader.read().then(
      (result) => {
        reading = undefined
        if (result.done) closed = true
        else for (let i = 0; i < 2; i++) if (!cancelled[i]) buffers[i]!.push(result.value)
      },
      (error: unknown) => {
        reading = undefined
        failed = true
        failure = error
      },
    ))

  const branch = (i: 0 | 1): ReadableStream<Uint8Array> => {
    const step = (controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> | void => {
      const chunk = buffers[i].shift()
      if (chunk !== undefined) return controller.enqueue(chunk)
      if (failed) return controller.error(failure)
      if (closed) return controller.close()
      return readOnce().then(() => step(controller))
    }
    return new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          disturbed(i)
          return step(controller)
        },
        cancel(reason: unknown) {
          disturbed(i)
          cancelled[i] = true
          reasons[i] = reason
          buffers[i] = []
          if (cancelled[1 - i]) return reader.cancel(reasons)
          return undefined
        },
      },
      { highWaterMark: 0 },
    )
  }
  return [branch(0), branch(1)]
}
