// One place turns errors into pages: domain errors and 4xx say what went wrong; 5xx never leak
// details; a database that is away answers 503 and the app recovers when it is back.
import fp from 'fastify-plugin'
import { validateHeaderName, validateHeaderValue } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isDomainError } from '../domain/errors.js'
import { databaseUnavailable } from '../db/errors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A save whose form is not on its own path's GET page: the path of that page (its parameters
     * filled from the request's), where a user checks what a save answered 503 did.
     */
    back?: string
  }
}

const TITLES: Record<number, string> = {
  400: 'That request was not understood',
  401: 'Please sign in',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Something changed meanwhile',
  413: 'That was too much to send',
  415: 'That kind of content is not accepted',
  422: 'Please check what you entered',
  429: 'Too many attempts',
  503: 'The service is unavailable',
}

export function statusOf(error: FastifyError & { status?: number }): number {
  if (isDomainError(error)) return error.status
  if (error.validation) return error.validationContext === 'params' ? 404 : 400
  if (databaseUnavailable(error)) return 503
  const status = error.statusCode ?? 500
  return status >= 400 && status < 600 ? status : 500
}

/** True of a missing id and of another company's alike (they answer the same), and of one just removed. */
const NOT_FOUND = 'There is nothing at this address: it may have been removed, or the link may be wrong.'

function messageOf(error: FastifyError, status: number): string {
  if (status === 404) return NOT_FOUND
  if (status === 503) return 'The database cannot be reached right now. Please try again in a moment.'
  if (status >= 500) return 'Something went wrong on our side. It has been logged; please try again.'
  if (error.code === 'FST_CSRF_INVALID_TOKEN' || error.code === 'FST_CSRF_MISSING_SECRET') {
    return 'This form has expired or did not come from this site. Go back, reload the page and try again.'
  }
  // Schema wording ("body/name must NOT have…") never reaches a user: what a person can do instead.
  if (error.validation) {
    return error.validationContext === 'querystring'
      ? 'This address has something in it that could not be read. Go back, or start again from the menu.'
      : 'This form could not be read: it may be out of date. Go back, reload the page and try again.'
  }
  return error.message
}

export async function renderError(reply: FastifyReply, status: number, message: string, back: string | null = null) {
  // An htmx fragment request gets just the message, where its swap would go.
  if (status === 503) reply.header('Retry-After', '5')
  return reply
    .code(status)
    .page('shared/error-page', { status, title: TITLES[status] ?? 'Error', message, back }, 'shared/error-message')
}

/** A form that saves something (a POST of a route that needs a permission): its 503 may come after the commit. */
function isSave(request: FastifyRequest): boolean {
  return request.method === 'POST' && !!request.routeOptions.config?.permission
}

export const SAVE_UNCONFIRMED =
  'The database cannot be reached right now, and it stopped answering before your change was confirmed: it may have been saved — check before you try again.'

/** What a route parameter may be to go into a link: an id, a key, a step or a number, nothing else. */
const SAFE_PARAM = /^[A-Za-z0-9_-]{1,100}$/

/**
 * The page of the form a POST came from, to check what it did: the route's `back` (a GET route's
 * path), or the GET route of its own path, filled from the request's route parameters. Null when
 * there is none or a parameter is anything but a plain id or key: never a link from unchecked input.
 */
export function pageOfForm(request: FastifyRequest): string | null {
  const own = request.routeOptions.url
  const pattern =
    request.routeOptions.config?.back ?? (own && request.server.hasRoute({ method: 'GET', url: own }) ? own : null)
  if (!pattern) return null
  const params = (request.params ?? {}) as Record<string, unknown>
  let safe = true
  const url = pattern.replace(/:(\w+)/g, (_, name: string) => {
    const value = params[name]
    if (typeof value === 'string' && SAFE_PARAM.test(value)) return value
    safe = false
    return ''
  })
  return safe ? url : null
}

/** Headers the failed answer had prepared that an error page must not carry, whatever their value. */
const NOT_FOR_AN_ERROR_PAGE = ['location', 'hx-redirect', 'set-cookie', 'content-disposition', 'retry-after']

/**
 * Clears what the failed answer prepared: its redirect and cookies, and any header Node would
 * refuse to send (the error may be that refusal, e.g. ERR_INVALID_CHAR), so the page can go out.
 */
function clearPreparedHeaders(reply: FastifyReply) {
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    let valid = !NOT_FOR_AN_ERROR_PAGE.includes(name.toLowerCase())
    try {
      validateHeaderName(name)
      for (const item of [value].flat()) if (item !== undefined) validateHeaderValue(name, String(item))
    } catch {
      valid = false
    }
    if (!valid) reply.removeHeader(name)
  }
}

/** The last resort when even the error page cannot be rendered: still HTML, never Fastify's JSON. */
function bareErrorPage(status: number): string {
  const title = TITLES[status] ?? 'Error'
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p><a href="/">Go to the start page</a></p></body></html>`
}

export default fp(
  async (app) => {
    app.setErrorHandler(async (error: FastifyError, request, reply) => {
      const status = statusOf(error)
      if (status >= 500) request.log.error({ err: error }, 'request failed')
      else request.log.info({ status, code: error.code }, error.message)
      clearPreparedHeaders(reply)
      try {
        if (status === 503 && isSave(request))
          return await renderError(reply, status, SAVE_UNCONFIRMED, pageOfForm(request))
        return await renderError(reply, status, messageOf(error, status))
      } catch (renderFailure) {
        request.log.error({ err: renderFailure }, 'error page failed')
        clearPreparedHeaders(reply)
        return reply.code(status).type('text/html; charset=utf-8').send(bareErrorPage(status))
      }
    })

    // Kept in each process's memory on purpose: it only sheds load from scanners (a 404 tells nothing,
    // a foreign id answers like a missing one), so N processes allowing N times as many is harmless,
    // while counting in PostgreSQL would make every 404 a database write, the load it is there to shed.
    app.setNotFoundHandler(
      {
        preHandler: app.rateLimit({ max: 120, timeWindow: '1 minute' }),
      },
      async (_request, reply) => renderError(reply, 404, NOT_FOUND),
    )
  },
  { name: 'errors', dependencies: ['views', 'security'] },
)
