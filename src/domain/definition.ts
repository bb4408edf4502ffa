// The connector definition: what a connector contains "under the hood". One schema, used by the
// marketplace manifests, the connector settings and the connector builder alike.
import { Type, type Static } from 'typebox'
import { Value } from 'typebox/value'
import { LIMITS } from './limits.js'
import { RATE_LIMIT_UNITS, type RateLimitUnit } from './enums.js'

export const PROTOCOLS = ['HTTP', 'SOAP', 'FTP', 'SFTP', 'Database'] as const
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const
export const DIRECTIONS = ['receive', 'send'] as const
export const AUTH_TYPES = {
  basic: 'Basic',
  token: 'Token-based',
  'oauth2-client-credentials': 'OAuth 2 client credentials',
  'oauth2-authorisation-code': 'OAuth 2 authorisation code',
  oauth1: 'OAuth 1',
} as const
export type AuthType = keyof typeof AUTH_TYPES

const Key = Type.String({
  pattern: `^[a-z][a-z0-9_]{0,${LIMITS.key - 1}}$`,
  description: 'lower-case letters, digits and _',
})
const Label = Type.String({ minLength: 1, maxLength: LIMITS.label })

export const Field = Type.Object(
  {
    key: Key,
    label: Label,
    secret: Type.Boolean(),
    required: Type.Boolean(),
    default: Type.Optional(Type.String({ maxLength: LIMITS.defaultValue })),
  },
  { additionalProperties: false },
)

export const AuthMethod = Type.Object(
  {
    key: Key,
    name: Label,
    type: Type.Union(Object.keys(AUTH_TYPES).map((t) => Type.Literal(t))),
    fields: Type.Array(Field, { maxItems: 50 }),
  },
  { additionalProperties: false },
)

export const Endpoint = Type.Object(
  {
    key: Key,
    name: Label,
    entity: Type.String({ minLength: 1, maxLength: LIMITS.entity }),
    direction: Type.Union(DIRECTIONS.map((d) => Type.Literal(d))),
    method: Type.Union(HTTP_METHODS.map((m) => Type.Literal(m))),
    url: Type.String({ minLength: 1, maxLength: LIMITS.url }),
    variables: Type.Array(Field, { maxItems: 50 }),
  },
  { additionalProperties: false },
)

export const Definition = Type.Object(
  {
    protocol: Type.Union(PROTOCOLS.map((p) => Type.Literal(p))),
    baseUrl: Type.String({ maxLength: LIMITS.url }),
    dateFormat: Type.String({ minLength: 1, maxLength: LIMITS.dateFormat }),
    rateLimit: Type.Object(
      {
        amount: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
        unit: Type.Union(RATE_LIMIT_UNITS.map((u) => Type.Literal(u))),
      },
      { additionalProperties: false },
    ),
    variables: Type.Array(Field, { maxItems: 100 }),
    authMethods: Type.Array(AuthMethod, { minItems: 1, maxItems: 20 }),
    endpoints: Type.Array(Endpoint, { minItems: 1, maxItems: 500 }),
  },
  { additionalProperties: false },
)

// The literal unions are restated here: Static<> of a Union built with .map() does not narrow them.
export type FieldSpec = Static<typeof Field>
export type AuthMethodSpec = Omit<Static<typeof AuthMethod>, 'type'> & { type: AuthType }
export type EndpointSpec = Omit<Static<typeof Endpoint>, 'direction' | 'method'> & {
  direction: (typeof DIRECTIONS)[number]
  method: (typeof HTTP_METHODS)[number]
}
export type ConnectorDefinition = Omit<
  Static<typeof Definition>,
  'protocol' | 'rateLimit' | 'authMethods' | 'endpoints'
> & {
  protocol: (typeof PROTOCOLS)[number]
  rateLimit: { amount: number; unit: RateLimitUnit }
  authMethods: AuthMethodSpec[]
  endpoints: EndpointSpec[]
}

/** One problem with a definition: a JSON-pointer-like path into it and what is wrong there. */
export interface DefinitionProblem {
  path: string
  message: string
}

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g

/** Names used as `{{name}}` in a URL. */
export function placeholdersIn(url: string): string[] {
  return [...url.matchAll(PLACEHOLDER)].map((m) => m[1]!)
}

function duplicateKeys(items: { key: string }[], path: string, what: string): DefinitionProblem[] {
  const seen = new Set<string>()
  const problems: DefinitionProblem[] = []
  items.forEach((item, i) => {
    if (seen.has(item.key))
      problems.push({ path: `${path}/${i}/key`, message: `${what} key "${item.key}" is used twice` })
    seen.add(item.key)
  })
  return problems
}

/**
 * Checks a definition: its shape first, then what a shape cannot say (unique keys, every
 * `{{placeholder}}` naming a connector or endpoint variable). An empty list means it is valid.
 */
export function checkDefinition(input: unknown): DefinitionProblem[] {
  const shapeProblems: DefinitionProblem[] = []
  if (!Value.Check(Definition, input)) {
    for (const error of Value.Errors(Definition, input)) {
      if (error.keyword === 'boolean') continue
      const path = error.instancePath || '/'
      const detail =
        error.keyword === 'additionalProperties'
          ? `unknown field(s): ${(error.params as { additionalProperties: string[] }).additionalProperties.join(', ')}`
          : error.message
      shapeProblems.push({ path, message: detail })
      if (shapeProblems.length >= 20) break
    }
    // Without its first endpoint or authentication method a definition is still worth checking
    // further (the connector builder's drafts); any other shape problem stops here.
    if (!shapeProblems.every(isMissingFirst)) return shapeProblems
  }
  const definition = input as ConnectorDefinition
  const problems = [
    ...duplicateKeys(definition.variables, '/variables', 'variable'),
    ...duplicateKeys(definition.authMethods, '/authMethods', 'authentication method'),
    ...duplicateKeys(definition.endpoints, '/endpoints', 'endpoint'),
  ]
  definition.authMethods.forEach((method, i) =>
    problems.push(...duplicateKeys(method.fields, `/authMethods/${i}/fields`, 'field')),
  )
  const connectorVariables = new Set(definition.variables.map((v) => v.key))
  for (const name of placeholdersIn(definition.baseUrl)) {
    if (!connectorVariables.has(name))
      problems.push({ path: '/baseUrl', message: `{{${name}}} is not a variable of this connector` })
  }
  definition.endpoints.forEach((endpoint, i) => {
    problems.push(...duplicateKeys(endpoint.variables, `/endpoints/${i}/variables`, 'variable'))
    const known = new Set([...connectorVariables, ...endpoint.variables.map((v) => v.key)])
    for (const name of placeholdersIn(endpoint.url)) {
      if (!known.has(name)) {
        problems.push({
          path: `/endpoints/${i}/url`,
          message: `{{${name}}} is not a variable of this connector or endpoint`,
        })
      }
    }
  })
  return [...shapeProblems, ...problems]
}

/** "must not have fewer than 1 items" for the endpoints or authentication methods. */
export function isMissingFirst(problem: DefinitionProblem): boolean {
  return (problem.path === '/endpoints' || problem.path === '/authMethods') && /fewer than 1/.test(problem.message)
}
