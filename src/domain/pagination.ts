// Server-side pagination shared by every list.
export interface Page<T> {
  rows: T[]
  total: number
  page: number
  pages: number
  pageSize: number
}

export function pageOf<T>(rows: (T & { total: number })[], page: number, pageSize: number, total?: number): Page<T> {
  const count = total ?? rows[0]?.total ?? 0
  return {
    rows: rows.map(({ total: _total, ...row }) => row as T),
    total: count,
    page,
    pageSize,
    pages: Math.max(1, Math.ceil(count / pageSize)),
  }
}

/** `%text%` for ILIKE, with the user's own % and _ taken literally. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
}

/** Map.groupBy, which Node.js 20 lacks. */
export function groupBy<T, K>(items: T[], keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>()
  for (const item of items) {
    const key = keyOf(item)
    const group = groups.get(key)
    if (group) group.push(item)
    else groups.set(key, [item])
  }
  return groups
}
