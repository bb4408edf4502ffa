// Sentences that carry a count read right for 0, 1 and many. Shared by domain messages (audit
// log, refusals) and templates (`it.format`).

/** "0 instances", "1 instance", "3 instances". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

/** The word alone for a count: `pick(1, 'it', 'them')` → "it". */
export function pick<T>(n: number, one: T, many: T): T {
  return n === 1 ? one : many
}

/** "A", "A and B", "A, B and C". */
export function listOf(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`
}
