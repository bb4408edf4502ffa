// Eta views. `reply.page()` renders a full page, or only its fragment when htmx asks for a partial.
import fp from 'fastify-plugin'
import view from '@fastify/view'
import { Eta } from 'eta'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import type { FastifyReply } from 'fastify'
import { can } from '../domain/actor.js'
import { cookieOptions, csrfUserInfo } from './security.js'
import * as format from '../views/format.js'
import { HELP_FOR_PAGE, HELP_FOR_ROUTE } from '../help/pages.js'
import { LIMITS } from '../domain/limits.js'

declare module 'fastify' {
  interface FastifyReply {
    /**
     * Renders `pages/<template>`; when the request is an htmx partial and `fragment` is given,
     * renders only `partials/<fragment>` with the same data.
     */
    page(template: string, data?: Record<string, unknown>, fragment?: string): Promise<FastifyReply>
    /** A one-time message shown on the next page (after a 303 redirect). */
    flash(message: string): FastifyReply
    /**
     * After a successful POST: 303 to the next page, or for htmx an HX-Redirect, so the next page
     * loads whole instead of being swapped into the form's place.
     */
    seeOther(url: string): FastifyReply
  }
}

export const VIEWS_DIR = path.join(import.meta.dirname, '..', '..', 'views')
const FLASH_COOKIE = 'flash'

export function isPartialRequest(headers: Record<string, string | string[] | undefined>): boolean {
  return headers['hx-request-type'] === 'partial'
}

export default fp<{ production: boolean }>(async (app, { production }) => {
  await app.register(view, {
    engine: { eta: new Eta({ views: VIEWS_DIR, cache: production }) },
    root: VIEWS_DIR,
    production,
    // Every template: the formatters, and the length limits that become each field's maxlength.
    defaultContext: { format, limits: LIMITS },
  })

  app.decorateReply('flash', function (this: FastifyReply, message: string) {
    return this.setCookie(FLASH_COOKIE, message, { ...cookieOptions(production), signed: true, maxAge: 60 })
  })

  app.decorateReply('seeOther', function (this: FastifyReply, url: string) {
    if (this.request.headers['hx-request'] === 'true') return this.code(200).header('HX-Redirect', url).send('')
    return this.redirect(url, 303)
  })

  // An htmx request never follows a redirect: fetch would follow it quietly and htmx would swap the
  // next page in where the form was. HX-Redirect makes the browser load that page instead.
  app.addHook('onSend', async (request, reply, payload) => {
    const location = reply.getHeader('location')
    if (request.headers['hx-request'] !== 'true' || reply.statusCode < 300 || reply.statusCode >= 400 || typeof location !== 'string') return payload
    reply.removeHeader('location')
    reply.code(200).header('HX-Redirect', location)
    return ''
  })

  app.decorateReply('page', async function (this: FastifyReply, template: string, data: Record<string, unknown> = {}, fragment?: string) {
    const request = this.request
    this.header('Vary', 'HX-Request-Type')
    this.header('Cache-Control', 'no-store')
    let flash: string | null = null
    const flashCookie = request.cookies[FLASH_COOKIE]
    if (flashCookie) {
      const unsigned = request.unsignCookie(flashCookie)
      if (unsigned.valid) flash = unsigned.value
      this.clearCookie(FLASH_COOKIE, cookieOptions(production))
    }
    const user = request.user
    const locals = {
      user,
      can: (permission: Parameters<typeof can>[1]) => (user ? can(user, permission) : false),
      csrfToken: this.generateCsrf({ userInfo: csrfUserInfo(request) }),
      flash,
      path: request.url.split('?')[0],
      // A page shown again by a form's POST route (a refused form) keeps the help of its screen.
      helpSlug: HELP_FOR_ROUTE[request.routeOptions.url ?? ''] ?? HELP_FOR_PAGE[template],
      /** A one-time key for a form that must do its work once (see claimSubmission). */
      submissionKey: randomUUID,
    }
    const name = fragment && isPartialRequest(request.headers) ? `partials/${fragment}` : `pages/${template}`
    const html = await this.viewAsync(name, { ...locals, ...data })
    return this.type('text/html; charset=utf-8').send(html)
  })
}, { name: 'views', dependencies: ['security'] })
