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
