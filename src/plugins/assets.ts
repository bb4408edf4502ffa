// Static files: our CSS/JS from public/, and htmx straight from its package (no build step).
import fp from 'fastify-plugin'
import staticFiles from '@fastify/static'
import path from 'node:path'
import { createRequire } from 'node:module'

const root = path.join(import.meta.dirname, '..', '..')
const htmxDir = path.join(path.dirname(createRequire(import.meta.url).resolve('htmx.org/package.json')), 'dist')

export default fp<{ production: boolean }>(async (app, { production }) => {
  const cacheControl = { maxAge: production ? '1d' : 0 }
  await app.register(staticFiles, { root: path.join(root, 'public'), prefix: '/static/', ...cacheControl })
  await app.register(staticFiles, {
    root: htmxDir,
    prefix: '/static/htmx/',
    decorateReply: false,
    allowedPath: (pathName) => pathName === '/htmx.min.js',
    ...cacheControl,
  })
  // A private administration app: search engines are asked to stay out (public, like the login page).
  app.get('/robots.txt', { config: { public: true } }, async (_request, reply) => reply.sendFile('robots.txt'))
}, { name: 'assets' })
