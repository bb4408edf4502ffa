import type { FastifyInstance } from 'fastify'

export default async function home(app: FastifyInstance) {
  app.get('/', async (_request, reply) => reply.redirect('/connectors', 303))
}
