/** The fetch standard's bad ports: a fetch to one of them fails before any connection is made. */
const BAD_PORTS = new Set([
  '1', '7', '9', '11', '13', '15', '17', '19', '20', '21', '22', '23', '25', '37', '42', '43', '53', '69', '77', '79',
  '87', '95', '101', '102', '103', '104', '109', '110', '111', '113', '115', '117', '119', '123', '135', '137',
  '139', '143', '161', '179', '389', '427', '465', '512', '513', '514', '515', '526', '530', '531', '532',
  '540', '548', '554', '556', '563', '587', '601', '636', '989', '990', '993', '995', '1719', '1720', '1723',
  '2049', '3659', '4045', '4190', '5060', '5061', '6000', '6566', '6665', '6666', '6667', '6668', '6669', '6679',
  '6697', '10080',
])

/** The characters that end a URL's authority: `/`, `?`, `#`. */
const AUTHORITY_END = new Set([0x2f, 0x3f, 0x23])

/**
 * isBadPort reports whether a serialized request URL (`scheme://host[:port]/…`,
 * as `Request.url` gives it: no credentials, default ports omitted) names a
 * bad port. It scans the authority without parsing the URL: there is one
 * only when `//` directly follows the scheme's colon, and it ends at the
 * first `/`, `?` or `#`.
 */
export function isBadPort(href: string): boolean {
  const scheme = href.indexOf(':')
  // No authority (`javascript:1`, `mailto:…`, `foo:x?u=http://h:25`): no port, whatever follows a colon.
  if (scheme < 0 || !href.startsWith('//', scheme + 1)) return false
  const start = scheme + 3
  let end = start
  while (end < href.length && !AUTHORITY_END.has(href.charCodeAt(end))) end++
  const colon = href.lastIndexOf(':', end)
  // No port, or the colon belongs to the scheme or to an IPv6 address.
  if (colon < start || href.charCodeAt(end - 1) === 93 /* ] */) return false
  return BAD_PORTS.has(href.slice(colon + 1, end))
}
