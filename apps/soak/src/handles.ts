/** handleCounts counts the process's active resources by type (`process.getActiveResourcesInfo()`). */
export function handleCounts(): Map<string, number> {
  const counts = new Map<string, number>()
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1)
  return counts
}

/** handlesLeft lists the resources open now beyond `before`, as `2 × TCPSocketWrap`. */
export function handlesLeft(before: Map<string, number>): string[] {
  const left: string[] = []
  for (const [type, n] of handleCounts()) {
    const extra = n - (before.get(type) ?? 0)
    if (extra > 0) left.push(`${extra} × ${type}`)
  }
  return left
}
