// Paged, searchable lists (manage connectors, marketplace, process flows): `?page=` and `?q=` as
// typed in an address are never refused. A page out of range, or not a number, shows the nearest
// real page at its own address; a search longer than LIMITS.search uses its first characters and
// says so beside the search box.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Page } from '../domain/pagination.js'
import { LIMITS } from '../domain/limits.js'
import { isPartialRequest } from '../plugins/views.js'

const firstOf = (raw: string | string[] | undefined): string | undefined => (Array.isArray(raw) ? raw[0] : raw)

/** Far past any real list, and small enough that its offset stays a safe integer in SQL. */
const MAX_PAGE = 1_000_000_000

export interface Search {
  /** What is searched for: trimmed, at most LIMITS.search characters. */
  q: string
  /** The search as typed was longer, and was cut. */
  cut: boolean
}

export function searchOf(raw: string | string[] | undefined): Search {
  const typed = (firstOf(raw) ?? '').trim()
  const cut = typed.length > LIMITS.search
  return { q: cut ? typed.slice(0, LIMITS.search).trim() : typed, cut }
}

/** The page asked for (1 for anything but a positive whole number), and whether the address wrote it so. */
function askedPage(raw: string | string[] | undefined): { page: number; canonical: boolean } {
  const text = firstOf(raw)
  if (text === undefined || text === '') return { page: 1, canonical: !Array.isArray(raw) }
  if (!/^\d+$/.test(text)) return { page: 1, canonical: false }
  const page = Math.max(1, Math.min(Number(text), MAX_PAGE))
  return { page, canonical: !Array.isArray(raw) && String(page) === text }
}

/**
 * Loads the page asked for or, when it is past the end, the last real page. `moved`: the list is
 * shown at another page than the address says, so the address should change.
 */
export async function nearestPage<T>(
  raw: string | string[] | undefined,
  load: (page: number) => Promise<Page<T>>,
): Promise<{ list: Page<T>; moved: boolean }> {
  const asked = askedPage(raw)
  let list = await load(asked.page)
  // An empty page past the first says nothing of how many there are: the first page counts them.
  if (list.rows.length === 0 && asked.page > 1) {
    const first = await load(1)
    list = first.pages > 1 ? await load(first.pages) : first
  }
  return { list, moved: !asked.canonical || list.page !== asked.page }
}

/** `?page=` in a list's address: none for the first page. */
export const pageParam = (page: number): number | undefined => (page > 1 ? page : undefined)

/**
 * For a list shown at another page than its address says: a whole page goes to the right address
 * (303); an htmx swap shows the list where it is and sets the address bar right. Null when the
 * request wants the page rendered here.
 */
export function movedTo(request: FastifyRequest, reply: FastifyReply, url: string): FastifyReply | null {
  if (isPartialRequest(request.headers)) {
    reply.header('HX-Replace-Url', url)
    return null
  }
  return reply.redirect(url, 303)
}
