// Makes the database available as `app.db`; closes it with the app when the app opened it.
import fp from 'fastify-plugin'
import type { Database, Db } from '../db/client.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Db
  }
}

export default fp<{ database: Database; owned: boolean }>(async (app, { database, owned }) => {
  app.decorate('db', database.db)
  if (owned) app.addHook('onClose', async () => database.close())
}, { name: 'database' })
