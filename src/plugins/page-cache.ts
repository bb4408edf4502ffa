// Pages made once and served again while nothing they show has changed. A page's data and its
// rendered fragment are kept per process, keyed by the company's data version (read with the session,
// in the same statement: see src/db/schema/data-versions.ts), the person, and the address. Any change to
// the company's data, committed by any process or by hand in SQL, moves the version on, and the next
// request makes the page again: nothing is invalidated by the app, so nothing can be forgotten.
//
// What is per request (the CSRF token, the flash message, one-time submission keys) is never kept:
// forms keep holes for the token and keys, filled at every request; a fragment that shows anything
// else of the request is refused (views.ts, PER_REQUEST); the page around a fragment (the layout: the
// person's name and role, the page's address) is kept too, per person, but made again whenever a
// flash message is to be shown.
import fp from 'fastify-plugin'
import { randomUUID } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { CurrentUser } from './auth.js'
import type { DeflatedPage } from './compression.js'

/** Where a kept part of a page takes this request's CSRF token, or a new one-time submission key. */
export type Hole = 'csrf' | 'key'

/** Part of a page as it is sent (UTF-8), split at its holes: texts[0], holes[0], texts[1], …, one more text than holes. */
export interface KeptPart {
  readonly texts: Buffer[]
  readonly holes: Hole[]
}

/**
 * Where a kept page's forms take this request's CSRF token and a new one-time submission key
 * (see claimSubmission): the page is kept split at them, and filled at every request.
 */
export const CSRF_HOLE = '\u0000csrf\u0000'
export const KEY_HOLE = '\u0000key\u0000'
/** Splits a kept page at its holes (NUL is never in text shown: input.ts refuses it, PostgreSQL cannot store it). */
const HOLE_EDGE = '\u0000'

/** A rendered page split at its holes (CSRF_HOLE, KEY_HOLE), as it is kept: UTF-8, ready to send. */
export function keptPart(html: string): KeptPart {
  const parts = html.split(HOLE_EDGE)
  const texts = parts.filter((_, i) => i % 2 === 0)
  const holes = parts.filter((_, i) => i % 2 === 1)
  for (const hole of holes)
    if (hole !== 'csrf' && hole !== 'key') throw new Error(`not a hole of a kept page: ${JSON.stringify(hole)}`)
  // One allocation of its own, of its size: a small Buffer.from() is a slice of a shared 8 KB slab,
  // all of which a kept slice would keep alive (unseen by the page cache's budget).
  const joined = texts.join('')
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(joined))
  bytes.write(joined)
  let offset = 0
  return {
    texts: texts.map((text) => {
      const start = offset
      offset += Buffer.byteLength(text)
      return bytes.subarray(start, offset)
    }),
    holes: holes as Hole[],
  }
}

/**
 * What goes in a kept page's holes at this request: its CSRF token (`token`: escaped as the template
 * would have, as UTF-8), and a new one-time submission key (hex digits and hyphens: nothing to escape).
 */
export function holeValues(token: Buffer): (hole: Hole) => Buffer {
  return (hole) => (hole === 'csrf' ? token : Buffer.from(randomUUID(), 'latin1'))
}

/** The bytes of a kept part's texts (its holes' values not counted). */
export function sizeOf(part: KeptPart): number {
  return part.texts.reduce((sum, text) => sum + text.length, 0)
}

/** Appends a kept part of a page to `into`, with `valueOf` its holes (see holeValues). */
export function fill(part: KeptPart, valueOf: (hole: Hole) => Buffer, into: Buffer[]): Buffer[] {
  into.push(part.texts[0]!)
  for (let i = 0; i < part.holes.length; i++) into.push(valueOf(part.holes[i]!), part.texts[i + 1]!)
  return into
}

/** What a route loaded, and the fragments rendered from it (kept by reply.page). */
export interface CachedPage<T = unknown> {
  readonly value: T
  readonly fragments: Map<string, KeptPart>
  /** By page template: the page before and after its kept fragment. */
  readonly around: Map<string, [KeptPart, KeptPart]>
  /** By the name of what is sent (page template, or fragment alone): compressed once (compression.ts, gzipKept). */
  readonly deflated: Map<string, DeflatedPage>
  /** False when this entry is the request's own (caching off, or a request behind a newer one). */
  readonly kept: boolean
}

declare module 'fastify' {
  interface FastifyReply {
    /**
     * The value `load` gives for this page, made once per company data version, person and address
     * (then served to every request of theirs that asks the same), or made now when it cannot be kept. Pass
     * the entry to reply.page(), which keeps the rendered fragment in it too.
     */
    cached<T>(load: () => Promise<T>): Promise<CachedPage<T>>
  }
  interface FastifyInstance {
    pageCache: PageCache
  }
}

/** Bytes of kept parts of pages at most; the oldest used go first. */
const DEFAULT_BUDGET = 64 * 1024 * 1024

/** Pages kept at most, whatever their size (their data is not counted in the budget). */
const MAX_ENTRIES = 10_000

/** "company.marketplace" → both counters; a version is newer only when neither counter went back. */
function counters(version: string): [number, number] {
  const [company, marketplace] = version.split('.')
  return [Number(company), Number(marketplace)]
}

function newer(a: string, b: string): boolean {
  const [ac, am] = counters(a)
  const [bc, bm] = counters(b)
  return ac >= bc && am >= bm && (ac > bc || am > bm)
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const inner of Object.values(value)) deepFreeze(inner)
  }
  return value
}

/** A request's own entry: made for it alone (caching off, or a request behind a newer version). */
function notKept<T>(value: T): CachedPage<T> {
  return { value, fragments: new Map(), around: new Map(), deflated: new Map(), kept: false }
}

interface Entry {
  page: CachedPage
  company: string
  bytes: number
}

export class PageCache {
  /** Least recently used first (a Map iterates in insertion order; a hit moves its entry to the end). */
  private readonly entries = new Map<string, Entry>()
  /** Per company, the newest data version seen and the keys kept at it. */
  private readonly companies = new Map<string, { version: string; keys: Set<string> }>()
  private readonly keys = new WeakMap<CachedPage, string>()
  private bytes = 0

  constructor(
    readonly enabled: boolean,
    private readonly budget = DEFAULT_BUDGET,
    /** Freeze what is kept, so that a route or template changing a shared value fails at once (tests). */
    private readonly freeze = false,
  ) {}

  async get<T>(user: CurrentUser | null, address: string, load: () => Promise<T>): Promise<CachedPage<T>> {
    if (!this.enabled || !user) return notKept(await load())
    const company = this.companyAt(user.companyId, user.dataVersion)
    if (!company) return notKept(await load())
    // Per person (not per role): a page is never shared between two people, whatever its loader reads.
    const key = `${user.id}\0${address}`
    const found = this.entries.get(key)
    if (found) {
      this.entries.delete(key)
      this.entries.set(key, found)
      return found.page as CachedPage<T>
    }
    const value = await load()
    // Another request may have moved the company on meanwhile: keep this one only if still current.
    if (this.companies.get(user.companyId) !== company || company.version !== user.dataVersion) return notKept(value)
    const page: CachedPage<T> = {
      value: this.freeze ? deepFreeze(value) : value,
      fragments: new Map(),
      around: new Map(),
      deflated: new Map(),
      kept: true,
    }
    this.entries.set(key, { page, company: user.companyId, bytes: 0 })
    this.keys.set(page, key)
    company.keys.add(key)
    if (this.entries.size > MAX_ENTRIES) this.drop(this.entries.keys().next().value!)
    return page
  }

  /** Keeps a fragment rendered from a page's value, counted against the budget (the least recently used go first). */
  keepFragment(page: CachedPage, name: string, part: KeptPart): void {
    page.fragments.set(name, part)
    this.grew(page, sizeOf(part))
  }

  /** Keeps the page `template` made around a kept fragment, counted against the budget like the fragment. */
  keepAround(page: CachedPage, template: string, around: [KeptPart, KeptPart]): void {
    page.around.set(template, around)
    this.grew(page, sizeOf(around[0]) + sizeOf(around[1]))
  }

  /** Keeps a page compressed once, counted against the budget like its parts. */
  keepDeflated(page: CachedPage, name: string, deflated: DeflatedPage): void {
    page.deflated.set(name, deflated)
    this.grew(page, deflated.bytes)
  }

  private grew(page: CachedPage, bytes: number): void {
    const key = this.keys.get(page)
    const entry = key === undefined ? undefined : this.entries.get(key)
    if (!entry) return
    entry.bytes += bytes
    this.bytes += bytes
    for (const [oldest] of this.entries) {
      if (this.bytes <= this.budget) break
      this.drop(oldest)
    }
  }

  get size(): number {
    return this.entries.size
  }

  /** The company's state when `version` is its newest (older entries dropped), or null for a request behind it. */
  private companyAt(companyId: string, version: string) {
    let company = this.companies.get(companyId)
    if (!company) {
      company = { version, keys: new Set() }
      this.companies.set(companyId, company)
    } else if (company.version !== version) {
      if (!newer(version, company.version)) return null
      for (const key of company.keys) this.drop(key)
      company.version = version
    }
    return company
  }

  private drop(key: string): void {
    const entry = this.entries.get(key)
    if (!entry) return
    this.entries.delete(key)
    this.bytes -= entry.bytes
    this.companies.get(entry.company)?.keys.delete(key)
  }
}

export default fp<{ enabled: boolean; production: boolean; budget?: number }>(
  async (app, { enabled, production, budget }) => {
    const cache = new PageCache(enabled, budget, !production)
    app.decorate('pageCache', cache)
    app.decorateReply('cached', function <T>(this: FastifyReply, load: () => Promise<T>) {
      const request: FastifyRequest = this.request
      // Only what a GET shows: a POST answered with a page (a form refused) reads what it just saw,
      // and its session's version may be older than a change it raced with.
      const user = request.method === 'GET' ? request.user : null
      return cache.get(user, request.url, load)
    })
  },
  { name: 'page-cache', dependencies: ['auth'] },
)
