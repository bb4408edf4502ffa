// Route schemas shared by several routes: Fastify validates, handlers never hand-parse.
import { Type } from 'typebox'
import { UUID_PATTERN as UUID } from '../domain/ids.js'

export { UUID }

/** `:id` in a path. A malformed id answers 404, like a missing one (see plugins/errors.ts). */
export const IdParams = Type.Object({ id: Type.String({ pattern: UUID }) })

/** A query parameter the route reads itself (lists.ts): any text; a repeated one arrives as a list. */
export const QueryText = Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())]))

/** `?page=` of a list; `?q=` of a search. Read by nearestPage() and searchOf() in lists.ts, never refused. */
export const ListQuery = Type.Object({ q: QueryText, page: QueryText })

/** `?type=`: an unknown system type shows every type (see routes/marketplace.ts). */
export const MarketplaceQuery = Type.Object({ q: QueryText, type: QueryText, page: QueryText })

/** Every form carries `_csrf`; forms that must not run twice carry a one-time `submission` key. */
export const SubmissionBody = Type.Object({
  submission: Type.Optional(Type.String({ pattern: UUID })),
})

/**
 * What every edit form carries: the version of the row it was read at (`lockVersion`, as Rails names
 * it: `version` is taken by the forms of marketplace versions), and its one-time key.
 */
export const EditFields = {
  lockVersion: Type.Integer({ minimum: 1, maximum: 2_000_000_000 }),
  submission: Type.Optional(Type.String({ pattern: UUID })),
}
