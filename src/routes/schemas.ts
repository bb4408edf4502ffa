// Route schemas shared by several routes: Fastify validates, handlers never hand-parse.
import { Type } from 'typebox'
import { SYSTEM_TYPES } from '../domain/definition.js'
import { UUID_PATTERN as UUID } from '../domain/ids.js'

export { UUID }


/** `:id` in a path. A malformed id answers 404, like a missing one (see plugins/errors.ts). */
export const IdParams = Type.Object({ id: Type.String({ pattern: UUID }) })

export const PageNumber = Type.Integer({ minimum: 1, maximum: 100_000, default: 1 })

export const ListQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 200 })),
  page: PageNumber,
})

export const MarketplaceQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 200 })),
  type: Type.Optional(Type.Union([Type.Literal(''), ...SYSTEM_TYPES.map((t) => Type.Literal(t))])),
  page: PageNumber,
})

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
