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
import { requireKnownHelp, type HelpSlug } from '../help/pages.js'
import { LIMITS } from '../domain/limits.js'
import { assetUrl } from './assets.js'
import {
  CSRF_HOLE,
  fill,
  holeValues,
  KEY_HOLE,
  keptPart,
  sizeOf,
  type CachedPage,
  type KeptPart,
} from './page-cache.js'
import { acceptsGzip, COMPRESS_FROM_BYTES, deflatePage, gzipKept } from './compression.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The help page of the screen this route shows (views/help/<slug>.eta): the layout's help link. */
    help?: HelpSlug
  }
  interface FastifyReply {
    /**
     * Renders the page `template` (a path under views/, e.g. `connectors/page`); when the request
     * is an htmx partial and `fragment` is given, renders only that fragment (e.g.
     * `connectors/connector-list`) with the same data.
     */
    page(
      template: string,
      data?: Record<string, unknown>,
      fragment?: string,
      /** From reply.cached(): the fragment is rendered once for it and reused (data is then its value). */
      cached?: CachedPage,
    ): Promise<FastifyReply>
    /**
     * A one-time message shown on the next page (after a 303 redirect), optionally with an undo:
     * a small form posting to `undo.action` (its route checks permission and tenancy like any other),
     * or marked as a warning (something asked for was not done).
     */
    flash(message: string, options?: { undo?: FlashUndo; warning?: boolean }): FastifyReply
    /**
     * After a successful POST: 303 to the next page, or for htmx an HX-Redirect, so the next page
     * loads whole instead of being swapped into the form's place.
     */
    seeOther(url: string): FastifyReply
  }
}

/** The undo a flash message offers: where its form posts, and what it undoes (for its accessible name). */
export interface FlashUndo {
  action: string
  what: string
}

interface Flash {
  message: string
  undo: FlashUndo | null
  warning: boolean
}

/** A same-site path (no scheme, no `//host`): the only place an undo form may post to. */
const LOCAL_PATH = /^\/(?!\/)[A-Za-z0-9\-._~/]*$/

/**
 * The flash cookie's value: JSON `{ message, undo?, warning? }` (a plain string from before undo
 * existed is a message). Read only after its signature checked out, and even then kept to the expected shape.
 */
export function readFlash(value: string): Flash | null {
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    return value ? { message: value, undo: null, warning: false } : null
  }
  if (typeof parsed === 'string') return parsed ? { message: parsed, undo: null, warning: false } : null
  if (!parsed || typeof parsed !== 'object') return null
  const { message, undo, warning } = parsed as {
    message?: unknown
    undo?: { action?: unknown; what?: unknown }
    warning?: unknown
  }
  if (typeof message !== 'string' || !message) return null
  const validUndo =
    undo && typeof undo.action === 'string' && LOCAL_PATH.test(undo.action) && typeof undo.what === 'string'
  return {
    message,
    undo: validUndo ? { action: undo.action as string, what: undo.what as string } : null,
    warning: warning === true,
  }
}

export const VIEWS_DIR = path.join(import.meta.dirname, '..', '..', 'views')
const FLASH_COOKIE = 'flash'

/**
 * Where the browser should go, as a URL it really loads: a URL that differs from the current one only
 * by its #fragment would only scroll (the page and its message would stay as they were), so the
 * fragment is dropped then.
 */
export function loadable(location: string, currentUrl: string | string[] | undefined): string {
  const hash = location.indexOf('#')
  if (hash === -1 || typeof currentUrl !== 'string') return location
  try {
    const current = new URL(currentUrl)
    const target = new URL(location, current)
    return target.pathname + target.search === current.pathname + current.search ? location.slice(0, hash) : location
  } catch {
    return location
  }
}

export function isPartialRequest(headers: Record<string, string | string[] | undefined>): boolean {
  return headers['hx-request-type'] === 'partial'
}

/**
 * A template's indentation (there for reading) folded to one space when compiled: about a sixth of a
 * page's bytes. One space, not none, because a line break after a tag is trimmed and the indentation
 * may be what separates two attributes.
 */
export function withoutIndentation(template: string): string {
  return template.replace(/[ \t]+\n/g, '\n').replace(/\n[ \t]+/g, '\n ')
}

/** Data key of fragments already rendered (by name, e.g. `connectors/connector-list`): an include of one returns it. */
const PRERENDERED = Symbol('prerendered')

/**
 * What a kept fragment is rendered with instead of what is per request: a fragment that shows any of
 * it is refused (it would show one request's message or session in another).
 */
const PER_REQUEST = '\u0000per-request\u0000'

/** Where a page's kept fragment stands while the page around it is rendered: the two are kept apart (an htmx request asks for the fragment alone). */
const KEPT_PART = '\u0000kept\u0000'

/** Eta, with `asset('app.css')` in every template (included ones too): a static file's address with its content hash. */
class Views extends Eta {
  readonly asset = assetUrl

  constructor(config: ConstructorParameters<typeof Eta>[0]) {
    super(config)
    // An include of a fragment the page cache already holds is that fragment (see reply.page).
    const prerendered = (template: unknown, data: object | undefined) =>
      typeof template === 'string'
        ? (data as { [PRERENDERED]?: Record<string, string> } | undefined)?.[PRERENDERED]?.[template.replace(/^\//, '')]
        : undefined
    const render = this.render
    this.render = function (template, data, options) {
      return prerendered(template, data) ?? render.call(this, template, data, options)
    }
    const renderAsync = this.renderAsync
    this.renderAsync = function (template, data, options) {
      const html = prerendered(template, data)
      return html === undefined ? renderAsync.call(this, template, data, options) : Promise.resolve(html)
    }
    // Where each include leads, by the including file and the name: Eta's own cache of it builds a
    // JSON key at every include (dozens per page).
    const resolve = this.resolvePath!
    const resolved = new Map<string, string>()
    this.resolvePath = function (template, options) {
      const key = `${options?.filepath ?? ''}\0${template}`
      let file = resolved.get(key)
      if (file === undefined) {
        file = resolve.call(this, template, options)
        if (this.config.cache) resolved.set(key, file)
      }
      return file
    }
  }
}

export default fp<{ production: boolean }>(
  async (app, { production }) => {
    const engine = new Views({
      views: VIEWS_DIR,
      cache: production,
      functionHeader: 'const asset = this.asset;',
      plugins: [{ processTemplate: withoutIndentation }],
    })
    await app.register(view, {
      engine: { eta: engine },
      root: VIEWS_DIR,
      production,
      // Every template: the formatters, and the length limits that become each field's maxlength.
      defaultContext: { format, limits: LIMITS },
    })

    // A route that names a help page which does not exist is refused when the app is built.
    app.addHook('onRoute', requireKnownHelp)

    app.decorateReply(
      'flash',
      function (this: FastifyReply, message: string, options: { undo?: FlashUndo; warning?: boolean } = {}) {
        const value = JSON.stringify({
          message,
          ...(options.undo ? { undo: options.undo } : {}),
          ...(options.warning ? { warning: true } : {}),
        })
        return this.setCookie(FLASH_COOKIE, value, { ...cookieOptions(production), signed: true, maxAge: 60 })
      },
    )

    app.decorateReply('seeOther', function (this: FastifyReply, url: string) {
      // For htmx, the onSend hook below turns it into HX-Redirect.
      return this.redirect(url, 303)
    })

    // An htmx request never follows a redirect: fetch would follow it quietly and htmx would swap the
    // next page in where the form was. HX-Redirect makes the browser load that page instead.
    app.addHook('onSend', async (request, reply, payload) => {
      const location = reply.getHeader('location')
      if (
        request.headers['hx-request'] !== 'true' ||
        reply.statusCode < 300 ||
        reply.statusCode >= 400 ||
        typeof location !== 'string'
      )
        return payload
      reply.removeHeader('location')
      reply.code(200).header('HX-Redirect', loadable(location, request.headers['hx-current-url']))
      return ''
    })

    app.decorateReply(
      'page',
      async function (
        this: FastifyReply,
        template: string,
        data: Record<string, unknown> = {},
        fragment?: string,
        cached?: CachedPage,
      ) {
        const request = this.request
        this.header('Vary', 'HX-Request-Type')
        this.header('Cache-Control', 'no-store')
        let flash: Flash | null = null
        const flashCookie = request.cookies[FLASH_COOKIE]
        if (flashCookie) {
          const unsigned = request.unsignCookie(flashCookie)
          if (unsigned.valid && unsigned.value !== null) flash = readFlash(unsigned.value)
          this.clearCookie(FLASH_COOKIE, cookieOptions(production))
        }
        const user = request.user
        const locals = {
          user,
          can: (permission: Parameters<typeof can>[1]) => (user ? can(user, permission) : false),
          csrfToken: this.generateCsrf({ userInfo: csrfUserInfo(request) }),
          flash: flash?.message ?? null,
          /** The undo the flash message offers (a form in the flash area), or null. */
          flashUndo: flash?.undo ?? null,
          flashWarning: flash?.warning ?? false,
          path: request.url.split('?')[0],
          // Declared by the route next to its permission; a form's POST route names its screen's page.
          helpSlug: request.routeOptions.config?.help,
          /** A one-time key for a form that must do its work once (see claimSubmission). */
          submissionKey: randomUUID,
        }
        const name = fragment && isPartialRequest(request.headers) ? fragment : template
        this.type('text/html; charset=utf-8')
        if (cached?.kept && fragment) {
          let kept = cached.fragments.get(fragment)
          if (kept === undefined) {
            const shared = {
              ...locals,
              user: user && { ...user, name: PER_REQUEST, email: PER_REQUEST, sessionId: PER_REQUEST },
              csrfToken: CSRF_HOLE,
              flash: PER_REQUEST,
              flashUndo: null,
              submissionKey: () => KEY_HOLE,
            }
            const html = await this.viewAsync(fragment, { ...shared, ...data })
            if (html.includes(PER_REQUEST)) throw new Error(`${fragment} shows what is per request: it cannot be kept`)
            app.pageCache.keepFragment(cached, fragment, (kept = keptPart(html)))
          }
          const valueOf = holeValues(Buffer.from(engine.config.escapeFunction(locals.csrfToken)))
          // The page around the fragment (the layout: this person's name and role, the address) is kept
          // with it, with holes for its forms too; made again, and not kept, when a flash message shows.
          let around: [KeptPart, KeptPart] | undefined
          if (name !== fragment) {
            around = flash ? undefined : cached.around.get(name)
            if (!around) {
              const made = (
                await this.viewAsync(name, {
                  ...locals,
                  ...(flash ? {} : { csrfToken: CSRF_HOLE, submissionKey: () => KEY_HOLE }),
                  ...data,
                  [PRERENDERED]: { [fragment]: KEPT_PART },
                })
              ).split(KEPT_PART)
              // A page that does not show its fragment exactly once is made whole, as if nothing were kept.
              if (made.length !== 2) {
                const html = Buffer.concat(fill(kept, valueOf, [])).toString()
                return this.send(
                  await this.viewAsync(name, { ...locals, ...data, [PRERENDERED]: { [fragment]: html } }),
                )
              }
              around = [keptPart(made[0]!), keptPart(made[1]!)]
              if (!flash) app.pageCache.keepAround(cached, name, around)
            }
          }
          const parts = around ? [around[0], kept, around[1]] : [kept]
          // Compressed once too, for gzip: only the holes' values and the CRC are made now. Not a page
          // with a flash message (the page around its list is this request's: compressed as any other).
          if (
            !flash &&
            acceptsGzip(request.headers['accept-encoding']) &&
            parts.reduce((sum, part) => sum + sizeOf(part), 0) >= COMPRESS_FROM_BYTES
          ) {
            let deflated = cached.deflated.get(name)
            if (!deflated) app.pageCache.keepDeflated(cached, name, (deflated = deflatePage(parts, valueOf)))
            const gzipped = gzipKept(parts, deflated, valueOf)
            if (gzipped) {
              this.header('Vary', 'HX-Request-Type, Accept-Encoding').header('Content-Encoding', 'gzip')
              return this.send(gzipped)
            }
          }
          // Sent as the bytes kept (the reference server of `npm run bench` sends bytes too): no string
          // of the whole page is made, nor encoded again at each request.
          return this.send(Buffer.concat(parts.flatMap((part) => fill(part, valueOf, []))))
        }
        return this.send(await this.viewAsync(name, { ...locals, ...data }))
      },
    )
  },
  { name: 'views', dependencies: ['security', 'page-cache'] },
)
