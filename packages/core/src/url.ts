/**
 * redactUrl returns `url` as a string with any username and password
 * removed, for error messages, logs and leak reports.
 */
export function redactUrl(url: string | URL): string {
  const s = typeof url === 'string' ? url : url.href
  // Fast path: no credentials can be present without an '@' in the string.
  if (!s.includes('@')) return s
  try {
    const u = new URL(s)
    if (u.username === '' && u.password === '') return s
    u.username = ''
    u.password = ''
    return u.href
  } catch {
    return s
  }
}

/**
 * stripFragment returns `url` without its fragment (`#…`), as fetch gives a
 * response's URL.
 */
export function stripFragment(url: string): string {
  const hash = url.indexOf('#')
  return hash < 0 ? url : url.slice(0, hash)
}
