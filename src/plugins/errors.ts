// One place turns errors into pages: domain errors and 4xx say what went wrong; 5xx never leak
// details; a database that is away answers 503 and the app recovers when it is back.
import fp from 'fastify-plugin'
import type { FastifyError, FastifyReply } from 'fastify'
import { isDomainError } from '../domain/errors.js'
import { databaseUnavailable } from '../db/errors.js'

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
  if (error.validation) return `The request was not valid: ${error.message}.`
  return error.message
}

export async function renderError(reply: FastifyReply, status: number, message: string) {
  // An htmx fragment request gets just the message, where its swap would go.
  return reply.code(status).page('error', { status, title: TITLES[status] ?? 'Error', message }, 'error-message')
}

export default fp(async (app) => {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const status = statusOf(error)
    if (status >= 500) request.log.error({ err: error }, 'request failed')
    else request.log.info({ status, code: error.code }, error.message)
    try {
      return await renderError(reply, status, messageOf(error, status))
    } catch (renderFailure) {
      request.log.error({ err: renderFailure }, 'error page failed')
      return reply.code(status).type('text/plain; charset=utf-8').send(TITLES[status] ?? 'Error')
    }
  })

  app.setNotFoundHandler({
    preHandler: app.rateLimit({ max: 120, timeWindow: '1 minute' }),
  }, async (_request, reply) => renderError(reply, 404, NOT_FOUND))
}, { name: 'errors', dependencies: ['views', 'security'] })
