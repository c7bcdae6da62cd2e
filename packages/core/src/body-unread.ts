import { fieldsOf, kSource, kStream, kUsed, type ResponseFields } from './internal.js'

/**
 * isBodyUnread reports whether nobody has started reading the body of
 * `response`: the body is open (neither read to the end, cancelled, failed
 * nor collected), unused (`bodyUsed` is false) and not locked by a reader.
 * Unlike `!response.bodyUsed && response.body?.locked === false` it does not
 * make the body's stream, which reading `response.body` does for a lazy body
 * (one made by `createBody`). A layer that reclaims bodies on someone's
 * behalf (a leak tracker) asks it before {@link abortBody}. False for a
 * response without a body.
 */
export function isBodyUnread(response: Response): boolean {
  const fields = response as Partial<ResponseFields>
  const source = fields[kSource]
  if (source === undefined) return !response.bodyUsed && response.body?.locked === false
  const now = fieldsOf(fields)
  return source.outcome === undefined && now[kUsed] !== true && now[kStream]?.locked !== true
}

/**
 * isBodyComplete reports whether every byte of the body of `response` has
 * arrived and nobody has started reading it: the producer of a tracked body
 * (one made by `createBody`) has ended, so its connection is released, and
 * the body of this response is unused and not locked by a reader (a clone
 * reads a branch of its own: what it read does not count here; every byte is
 * still there for this response). `arrayBuffer()`, `text()`
 * and the others then resolve without waiting on the network. A layer that
 * hands a response on through another API (an undici dispatcher's handler)
 * asks it to tell the body and its end at once, as undici does for a
 * response that came in one read. False for any other response (its end
 * cannot be known without reading) and for a response without a body.
 */
export function isBodyComplete(response: Response): boolean {
  const source = (response as Partial<ResponseFields>)[kSource]
  if (source?.complete?.() !== true) return false
  const now = fieldsOf(response as Partial<ResponseFields>)
  return now[kUsed] !== true && now[kStream]?.locked !== true
}
