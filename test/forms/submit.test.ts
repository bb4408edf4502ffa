// The route helper every form goes through (src/forms/submit.ts): a refused command answers 422 with
// the form again, the values kept and each message beside its field; a conflict the form knows
// answers 409; anything else reaches the error handler, never swallowed.
import t from 'tap'
import Fastify, { type FastifyReply } from 'fastify'
import formbody from '@fastify/formbody'
import { Conflict, Invalid } from '../../src/domain/errors.js'
import { submitForm, type FieldMessages } from '../../src/forms/submit.js'

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)

/** The form as a route renders it: each field with its value, and its message tied to it. */
function form(reply: FastifyReply, values: Record<string, string>, errors: FieldMessages) {
  const fields = Object.entries(values).map(([name, value]) =>
    errors[name]
      ? `<input name="${name}" value="${escape(value)}" aria-invalid="true" aria-describedby="${name}-error"><p id="${name}-error">${escape(errors[name]!)}</p>`
      : `<input name="${name}" value="${escape(value)}">`,
  )
  return reply
    .type('text/html')
    .send(`<form>${errors[''] ? `<p role="alert">${escape(errors[''])}</p>` : ''}${fields.join('')}</form>`)
}

async function app(t: { teardown(fn: () => unknown): void }, command: (name: string) => Promise<string>) {
  const app = Fastify()
  const caught: unknown[] = []
  app.setErrorHandler((error, _request, reply) => {
    caught.push(error)
    return reply.code(500).send('error handler')
  })
  await app.register(formbody)
  const again: number[] = []
  app.post('/things', async (request, reply) => {
    const { name = '' } = request.body as { name?: string }
    return submitForm(reply, () => command(name), {
      done: (id) => reply.redirect(`/things/${id}`, 303),
      conflict: (error) => (error.message.startsWith('Known:') ? error.message : null),
      fields: (errors) =>
        Object.fromEntries(
          Object.entries(errors).map(([path, message]) => [path === '/name' ? 'name' : path, message]),
        ),
      again: (refusal) => {
        again.push(refusal.status)
        return form(reply, { name }, refusal.errors)
      },
    })
  })
  t.teardown(() => app.close())
  const post = (name: string) =>
    app.inject({
      method: 'POST',
      url: '/things',
      payload: `name=${encodeURIComponent(name)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })
  return { post, caught, again }
}

t.test('a command done answers as the route says', async (t) => {
  const { post } = await app(t, async () => 'thing-1')
  const response = await post('Widgets')
  t.equal(response.statusCode, 303)
  t.equal(response.headers.location, '/things/thing-1')
})

t.test('a refused command answers 422: the form again, the value kept, the message tied to its field', async (t) => {
  const { post, again } = await app(t, async (name) => {
    throw new Invalid({ '/name': `${name} <is> taken.` })
  })
  const response = await post('Widgets & co')
  t.equal(response.statusCode, 422)
  t.match(
    response.body,
    '<input name="name" value="Widgets &#38; co" aria-invalid="true" aria-describedby="name-error">',
    'value kept, escaped; the domain path is the field name',
  )
  t.match(response.body, '<p id="name-error">Widgets &#38; co &#60;is&#62; taken.</p>', 'the message beside the field')
  t.same(again, [422])
})

t.test('a conflict the form knows answers 409 with its message for the whole form, values kept', async (t) => {
  const { post } = await app(t, async () => {
    throw new Conflict('Known: somebody saved meanwhile.')
  })
  const response = await post('Widgets')
  t.equal(response.statusCode, 409)
  t.match(response.body, '<p role="alert">Known: somebody saved meanwhile.</p>')
  t.match(response.body, '<input name="name" value="Widgets">')
})

t.test('any other error is not swallowed: the error handler gets it and the form is not shown again', async (t) => {
  for (const error of [new Error('database down'), new Conflict('Another conflict.')]) {
    const { post, caught, again } = await app(t, async () => {
      throw error
    })
    const response = await post('Widgets')
    t.equal(response.statusCode, 500, error.message)
    t.same(caught, [error], 'the very error reaches the error handler')
    t.same(again, [], 'the form is not rendered')
  }
})
