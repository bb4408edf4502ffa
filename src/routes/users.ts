// settings > users: administrators add the people of their company and set their roles.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ROLES } from '../domain/enums.js'
import { actorOf } from '../plugins/auth.js'
import { addUser, changeRole, listUsers, RoleConflict } from '../domain/users.js'
import { submitForm } from '../forms/submit.js'
import type { Actor } from '../domain/actor.js'
import { EditFields, IdParams } from './schemas.js'

const Text = Type.Optional(Type.String())
const UserBody = Type.Object({ name: Text, email: Text, role: Text, password: Text, submission: EditFields.submission })

export default async function userRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const page = async (actor: Actor, extra: Record<string, unknown> = {}) => ({
    users: await listUsers(app.db, actor),
    roles: ROLES,
    values: { name: '', email: '', role: 'user' },
    errors: {},
    ...extra,
  })

  app.get('/settings/users', { config: { permission: 'manageUsers' } }, async (request, reply) =>
    reply.page('users/page', await page(actorOf(request))),
  )

  app.post(
    '/settings/users',
    { config: { permission: 'manageUsers' }, schema: { body: UserBody } },
    async (request, reply) => {
      const actor = actorOf(request)
      const input = {
        name: request.body.name ?? '',
        email: request.body.email ?? '',
        role: request.body.role ?? '',
        password: request.body.password ?? '',
      }
      return submitForm(reply, () => addUser(app.db, actor, { ...input, submission: request.body.submission }), {
        done: (user) => {
          // The same words whether or not the address already signs in with another company (README, Security).
          reply.flash(`${user.name} is added as ${user.role}, with ${user.email}.`)
          return reply.seeOther('/settings/users')
        },
        again: async ({ errors }) => reply.page('users/page', await page(actor, { values: input, errors })),
      })
    },
  )

  app.post(
    '/settings/users/:id/role',
    {
      config: { permission: 'manageUsers', back: '/settings/users' },
      schema: { params: IdParams, body: Type.Object({ role: Text, ...EditFields }) },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const { role = '', lockVersion: version, submission } = request.body
      const { id } = request.params
      return submitForm(reply, () => changeRole(app.db, actor, id, role, { version, submission }), {
        done: (user) => {
          reply.flash(`${user.name} is now ${user.role}.`)
          return reply.seeOther('/settings/users')
        },
        conflict: (error) => (error instanceof RoleConflict ? error.message : null),
        // Beside that user's role: why it was refused; after a conflict the role chosen stays selected.
        again: async ({ errors, conflict }) =>
          reply.page(
            'users/page',
            await page(
              actor,
              conflict
                ? { roleErrors: { [id]: errors[''] }, roleChosen: { [id]: role } }
                : { roleErrors: { [id]: errors.role } },
            ),
          ),
      })
    },
  )
}
