// Makes the database available as `app.db`; closes it with the app when the app opened it.
import fp from 'fastify-plugin'
import type { Database, Db } from '../db/client.js'
import { SecretBox } from '../domain/secrets.js'

declare module 'fastify' {
  interface FastifyInstance {
    db: Db
    /** Encrypts and decrypts instance credentials with the configured key. */
    secretBox: SecretBox
  }
}

export default fp<{ database: Database; owned: boolean; encryptionKey: Buffer }>(
  async (app, { database, owned, encryptionKey }) => {
    app.decorate('db', database.db)
    app.decorate('secretBox', new SecretBox(encryptionKey))
    if (owned) app.addHook('onClose', async () => database.close())
  },
  { name: 'database' },
)
