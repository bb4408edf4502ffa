// Help pages inside the app (/help), one per task, searchable.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { HELP_PAGES, helpPage } from '../help/pages.js'
import { NotFound } from '../domain/errors.js'
import { QueryText } from './schemas.js'
import { searchOf } from './lists.js'

const Slug = Type.Object({ slug: Type.String({ pattern: '^[a-z0-9-]{1,80}$' }) })

export default async function helpRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  // The words of each page, for search: rendered once, on first search.
  let texts: Map<string, string> | null = null
  const pageTexts = async () => {
    texts ??= new Map(
      await Promise.all(
        HELP_PAGES.map(async (page) => {
          const html = await app.view(`help/${page.slug}`, {})
          return [
            page.slug,
            `${page.title} ${page.summary} ${html.replace(/<[^>]+>/g, ' ')}`.toLowerCase().replace(/\s+/g, ' '),
          ] as const
        }),
      ),
    )
    return texts
  }

  app.get('/help', { schema: { querystring: Type.Object({ q: QueryText }) } }, async (request, reply) => {
    const { q, cut } = searchOf(request.query.q)
    const words = q.toLowerCase().split(/\s+/).filter(Boolean)
    const all = await pageTexts()
    const pages = words.length ? HELP_PAGES.filter((p) => words.every((w) => all.get(p.slug)!.includes(w))) : HELP_PAGES
    return reply.page('help/index-page', { pages, q, searchCut: cut })
  })

  app.get('/help/:slug', { schema: { params: Slug } }, async (request, reply) => {
    const page = helpPage(request.params.slug)
    if (!page) throw new NotFound('That help page')
    const body = await app.view(`help/${page.slug}`, {})
    return reply.page('help/topic-page', { help: page, body })
  })
}
