// What the app accepts: HTML forms (urlencoded), valid UTF-8, no NUL characters (PostgreSQL
// refuses them). Anything else is a 4xx before it reaches a route, never a 500 after.
import fp from 'fastify-plugin'
import formbody from '@fastify/formbody'
import { parse } from 'node:querystring'

const BODY_LIMIT = 256 * 1024

function badRequest(message: string) {
  return Object.assign(new Error(message), { statusCode: 400 })
}

function contains(value: unknown, character: string): boolean {
  if (typeof value === 'string') return value.includes(character)
  if (Array.isArray(value)) return value.some((v) => contains(v, character))
  if (value && typeof value === 'object') return Object.values(value).some((v) => contains(v, character))
  return false
}

export default fp(
  async (app) => {
    // Only forms: JSON and plain text bodies answer 415 like any other unknown type.
    app.removeAllContentTypeParsers()
    await app.register(formbody, {
      bodyLimit: BODY_LIMIT,
      parser: (body) => {
        const fields = parse(body)
        // Invalid bytes, raw or percent-encoded, decode to U+FFFD.
        if (body.includes('\uFFFD') || contains(fields, '\uFFFD'))
          throw badRequest('The form was not sent as valid UTF-8 text.')
        if (contains(fields, '\u0000')) throw badRequest('Text cannot contain NUL characters.')
        return fields
      },
    })
    app.addHook('preValidation', async (request) => {
      if (contains(request.query, '\u0000') || contains(request.params, '\u0000'))
        throw badRequest('Text cannot contain NUL characters.')
    })
  },
  { name: 'input' },
)

export { BODY_LIMIT }
