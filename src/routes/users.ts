// settings > users: administrators add the people of their company, set their roles, deactivate,
// reactivate or remove them, and reset their passwords (help: managing people).
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ROLES } from '../domain/enums.js'
import { actorOf } from '../plugins/auth.js'
import { addUser, listUsers, type CompanyUser } from '../domain/users.js'
import {
  changeRole,
  deactivateUser,
  getPerson,
  reactivateUser,
  personToRemove,
  removeUser,
  resetPassword,
  RoleConflict,
  PersonConflict,
} from '../domain/people.js'
import { submitForm } from '../forms/submit.js'
import type { Actor } from '../domain/actor.js'
import type { Conflict } from '../domain/errors.js'
import { EditFields, IdParams } from './schemas.js'
import { registerRemoval } from './removal.js'

const Text = Type.Optional(Type.String())
const UserBody = Type.Object({ name: Text, email: Text, role: Text, password: Text, submission: EditFields.submission })
const config = { permission: 'manageUsers', help: 'managing-people', back: '/settings/users' } as const
const personConflict = (error: Conflict) => (error instanceof PersonConflict ? error.message : null)

export default async function userRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const page = async (actor: Actor, extra: Record<string, unknown> = {}) => ({
    users: await listUsers(app.db, actor),
    roles: ROLES,
    values: { name: '', email: '', role: 'user' },
    errors: {},
    ...extra,
  })

  app.get(
    '/settings/users',
    { config: { permission: 'manageUsers', help: 'managing-people' } },
    async (request, reply) => reply.page('users/page', await page(actorOf(request))),
  )

  app.post(
    '/settings/users',
    { config: { permission: 'manageUsers', help: 'managing-people' }, schema: { body: UserBody } },
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
    { config, schema: { params: IdParams, body: Type.Object({ role: Text, ...EditFields }) } },
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

  // Deactivate and reactivate: one button in the person's row; a refusal is shown in that row.
  const statusChange = (path: string, command: typeof deactivateUser, doneMessage: (user: CompanyUser) => string) =>
    app.post(path, { config, schema: { params: IdParams, body: Type.Object(EditFields) } }, async (request, reply) => {
      const actor = actorOf(request)
      const { id } = request.params
      const form = { version: request.body.lockVersion, submission: request.body.submission }
      return submitForm(reply, () => command(app.db, actor, id, form), {
        done: (user) => {
          reply.flash(doneMessage(user))
          return reply.seeOther('/settings/users')
        },
        conflict: personConflict,
        again: async ({ errors }) => reply.page('users/page', await page(actor, { rowErrors: { [id]: errors[''] } })),
      })
    })
  statusChange(
    '/settings/users/:id/deactivate',
    deactivateUser,
    (user) => `${user.name} is deactivated: their sessions have ended and they cannot sign in.`,
  )
  statusChange(
    '/settings/users/:id/reactivate',
    reactivateUser,
    (user) => `${user.name} is active again and can sign in as ${user.role}.`,
  )

  // Reset a password: a prompt, then the generated password, shown once.
  const resetPage = async (actor: Actor, id: string, extra: Record<string, unknown> = {}) => ({
    person: await getPerson(app.db, actor, id),
    errors: {},
    ...extra,
  })
  app.get('/settings/users/:id/password', { config, schema: { params: IdParams } }, async (request, reply) =>
    reply.page('users/reset-password-page', await resetPage(actorOf(request), request.params.id)),
  )
  app.post(
    '/settings/users/:id/password',
    { config, schema: { params: IdParams, body: Type.Object(EditFields) } },
    async (request, reply) => {
      const actor = actorOf(request)
      const { id } = request.params
      const form = { version: request.body.lockVersion, submission: request.body.submission }
      return submitForm(reply, () => resetPassword(app.db, actor, id, form), {
        // Shown on this answer only, never stored nor cached: a reload asks again and makes another.
        done: ({ user, password }) =>
          reply.header('cache-control', 'no-store').page('users/reset-password-page', {
            person: user,
            password,
            errors: {},
          }),
        conflict: personConflict,
        again: async ({ errors }) => reply.page('users/reset-password-page', await resetPage(actor, id, { errors })),
      })
    },
  )

  registerRemoval<string>(app, {
    path: '/settings/users/:id/remove',
    permission: 'manageUsers',
    help: 'managing-people',
    what: 'user',
    describe: async (db, actor, id) => {
      const { person, blockers } = await personToRemove(db, actor, id)
      return { name: person.name, backHref: '/settings/users', version: person.version, blocked: blockers }
    },
    remove: removeUser,
    afterRemoval: '/settings/users',
    blockersPartial: 'users/remove-blockers',
  })
}
