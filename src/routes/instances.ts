// Instances: the add new instance wizard, instance settings and removal.
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { randomUUID } from 'node:crypto'
import { Type } from 'typebox'
import { actorOf } from '../plugins/auth.js'
import {
  TIME_ZONES,
  checkAuthMethod,
  checkName,
  checkSettings,
  checkValues,
  defaultDetails,
  type InstanceDetails,
} from '../domain/instance-details.js'
import {
  connectorForInstances,
  createInstance,
  getInstance,
  removeInstance,
  shapesUsingInstance,
  updateInstanceAuthentication,
  updateInstanceDetails,
  type NewInstance,
} from '../domain/instances.js'
import { fieldsFor } from '../domain/instance-fields.js'
import type { ConnectorDefinition } from '../domain/definition.js'
import { RATE_LIMIT_UNITS } from '../domain/enums.js'
import { pageOfConnector } from '../domain/connectors.js'
import { EditFields, IdParams, UUID } from './schemas.js'
import { KEPT_BESIDE } from '../forms/conflicts.js'
import {
  WIZARD_STEPS,
  detailsInput,
  newInstanceInput,
  stepOf,
  valuesOf,
  type InstanceForm,
  type WizardStep as Step,
} from '../forms/instance.js'
import { editConflict, submitForm } from '../forms/submit.js'
import { registerRemoval } from './removal.js'

// Lengths are checked by the domain, beside each field (src/domain/limits.ts).
const FormValue = Type.String()
/** Wizard and settings forms: known fields plus `auth.<key>` / `var.<key>` values. */
const InstanceBody = Type.Object(
  {
    step: Type.Optional(Type.Union(WIZARD_STEPS.map((s) => Type.Literal(s)))),
    action: Type.Optional(Type.Union([Type.Literal('next'), Type.Literal('back'), Type.Literal('save')])),
    name: Type.Optional(FormValue),
    timeZone: Type.Optional(FormValue),
    dateFormat: Type.Optional(FormValue),
    rateLimitAmount: Type.Optional(FormValue),
    rateLimitUnit: Type.Optional(FormValue),
    authMethod: Type.Optional(FormValue),
    submission: Type.Optional(Type.String({ pattern: UUID })),
  },
  { additionalProperties: FormValue },
)
/** The settings forms: the same fields, and the version of the instance they were read at. */
const InstanceEditBody = Type.Object({ ...InstanceBody.properties, ...EditFields }, { additionalProperties: FormValue })

const choices = { timeZones: TIME_ZONES, rateLimitUnits: RATE_LIMIT_UNITS }

export default async function instanceRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  /** `submission`: the wizard's one-time key, made when it opens and carried through every step to the save. */
  const wizard = (
    connector: { id: string; name: string; definition: ConnectorDefinition },
    step: Step,
    input: NewInstance,
    errors: Record<string, string> = {},
    submission: string = randomUUID(),
  ) => {
    const method = connector.definition.authMethods.find((m) => m.key === input.authMethod)
    return {
      connector,
      step,
      stepNumber: WIZARD_STEPS.indexOf(step) + 1,
      stepCount: WIZARD_STEPS.length,
      submission,
      values: input,
      errors,
      ...choices,
      authMethods: connector.definition.authMethods,
      method,
      fields: fieldsFor(connector.definition, method),
    }
  }

  app.get(
    '/connectors/:id/instances/new',
    { config: { permission: 'manageInstances', help: 'adding-an-instance' }, schema: { params: IdParams } },
    async (request, reply) => {
      const connector = await connectorForInstances(app.db, actorOf(request), request.params.id)
      const input = {
        ...defaultDetails(connector.definition),
        authMethod: connector.definition.authMethods[0]!.key,
        values: {},
      }
      return reply.page('instances/new-page', wizard(connector, 'name', input), 'instances/instance-wizard')
    },
  )

  app.post(
    '/connectors/:id/instances/new',
    {
      config: { permission: 'manageInstances', help: 'adding-an-instance' },
      schema: { params: IdParams, body: InstanceBody },
    },
    async (request, reply) => {
      const actor = actorOf(request)
      const connector = await connectorForInstances(app.db, actor, request.params.id)
      const body: InstanceForm = request.body
      const step = (body.step ?? 'name') as Step
      const input = newInstanceInput(body, connector.definition)
      const index = WIZARD_STEPS.indexOf(step)
      const submission = body.submission ?? randomUUID()
      if (body.action === 'back')
        return reply.page(
          'instances/new-page',
          wizard(connector, WIZARD_STEPS[Math.max(0, index - 1)]!, input, {}, submission),
          'instances/instance-wizard',
        )
      const method = connector.definition.authMethods.find((m) => m.key === input.authMethod)
      const errors = {
        name: checkName(input.name),
        settings: checkSettings(input),
        authentication: checkAuthMethod(connector.definition, input.authMethod),
        credentials: checkValues(fieldsFor(connector.definition, method), input.values),
      }[step]
      if (Object.keys(errors).length)
        return reply
          .code(422)
          .page('instances/new-page', wizard(connector, step, input, errors, submission), 'instances/instance-wizard')
      if (step !== 'credentials')
        return reply.page(
          'instances/new-page',
          wizard(connector, WIZARD_STEPS[index + 1]!, input, {}, submission),
          'instances/instance-wizard',
        )
      return submitForm(
        reply,
        () => createInstance(app.db, actor, app.secretBox, { connectorId: connector.id, ...input, submission }),
        {
          done: async (instance) => {
            reply.flash(
              `Instance ${instance.name} of ${instance.connectorName} was added. It can now be used in process flows.`,
            )
            const page = await pageOfConnector(app.db, actor, connector)
            // Its connector, not the instance: the list shows only a connector's first few instances.
            return reply.seeOther(`/connectors?page=${page}#connector-${connector.id}`)
          },
          again: ({ errors }) => {
            // A check of an earlier step failed at save (e.g. the name was taken meanwhile): back to that step.
            const failed = WIZARD_STEPS.find((s) => Object.keys(errors).some((field) => stepOf(field) === s))!
            return reply.page(
              'instances/new-page',
              wizard(connector, failed, input, errors, submission),
              'instances/instance-wizard',
            )
          },
        },
      )
    },
  )

  /**
   * The settings page. `conflict`: the form of `section` was refused because the instance changed
   * since it was shown; it keeps what was entered and shows beside it what is saved now (`saved`).
   */
  const settingsPage = async (
    request: { params: { id: string } } & Parameters<typeof actorOf>[0],
    overrides: {
      details?: InstanceDetails
      authMethod?: string
      errors?: Record<string, string>
      section?: string
      conflict?: boolean
    } = {},
  ) => {
    const instance = await getInstance(app.db, actorOf(request), app.secretBox, request.params.id)
    const authMethod = overrides.authMethod ?? instance.authMethodKey
    const method = instance.definition.authMethods.find((m) => m.key === authMethod)
    const stored: InstanceDetails = {
      name: instance.name,
      timeZone: instance.timeZone,
      dateFormat: instance.dateFormat,
      rateLimitAmount: String(instance.rateLimitAmount),
      rateLimitUnit: instance.rateLimitUnit,
    }
    return {
      instance,
      ...choices,
      details: overrides.details ?? stored,
      saved: overrides.conflict ? { ...stored, authMethod: instance.authMethodKey, values: instance.settings } : null,
      authMethod,
      method,
      fields: fieldsFor(instance.definition, method),
      // Stored secrets of another method do not count as set for the one being chosen.
      secretsSet: instance.secretsSet.filter((k) => k.startsWith('var.') || authMethod === instance.authMethodKey),
      values: authMethod === instance.authMethodKey ? instance.settings : {},
      errors: overrides.errors ?? {},
      section: overrides.section,
    }
  }

  app.get(
    '/instances/:id/settings',
    {
      config: { help: 'updating-an-instance' },
      schema: { params: IdParams, querystring: Type.Object({ method: Type.Optional(Type.String()) }) },
    },
    async (request, reply) => {
      const data = await settingsPage(request, { authMethod: request.query.method })
      return reply.page('instances/settings-page', data, 'instances/instance-authentication')
    },
  )

  app.post(
    '/instances/:id/settings',
    {
      config: { permission: 'manageInstances', help: 'updating-an-instance' },
      schema: { params: IdParams, body: InstanceEditBody },
    },
    async (request, reply) => {
      const { lockVersion: version, submission, ...fields } = request.body
      const details = detailsInput(fields)
      return submitForm(
        reply,
        () =>
          updateInstanceDetails(app.db, actorOf(request), {
            instanceId: request.params.id,
            ...details,
            version,
            submission,
          }),
        {
          done: (instance) => {
            reply.flash(`The details of instance ${instance.name} were saved.`)
            return reply.seeOther(`/instances/${request.params.id}/settings`)
          },
          // 409 when the instance changed since the form was shown (nothing saved).
          conflict: editConflict('Your details were not saved.', KEPT_BESIDE),
          again: async ({ errors, conflict }) =>
            reply.page(
              'instances/settings-page',
              await settingsPage(request, { details, errors, section: 'details', conflict }),
              'instances/instance-details',
            ),
        },
      )
    },
  )

  app.post(
    '/instances/:id/authentication',
    {
      config: { permission: 'manageInstances', help: 'updating-an-instance', back: '/instances/:id/settings' },
      schema: { params: IdParams, body: InstanceEditBody },
    },
    async (request, reply) => {
      const { lockVersion: version, submission, ...fields } = request.body
      const body: InstanceForm = fields
      const authMethod = body.authMethod ?? ''
      const authentication = { authMethod, values: valuesOf(body), version, submission }
      return submitForm(
        reply,
        () =>
          updateInstanceAuthentication(app.db, actorOf(request), app.secretBox, {
            instanceId: request.params.id,
            ...authentication,
          }),
        {
          done: (instance) => {
            reply.flash(`The authentication of instance ${instance.name} was saved.`)
            return reply.seeOther(`/instances/${request.params.id}/settings`)
          },
          conflict: editConflict('Your authentication was not saved.', KEPT_BESIDE),
          again: async ({ errors, conflict }) => {
            const data = await settingsPage(request, { authMethod, errors, section: 'authentication', conflict })
            // Typed values are kept, secret ones never sent back.
            const typed = Object.fromEntries(
              data.fields.filter((f) => !f.secret).map((f) => [f.name, body[f.name] ?? '']),
            )
            return reply.page(
              'instances/settings-page',
              { ...data, values: typed },
              'instances/instance-authentication',
            )
          },
        },
      )
    },
  )

  registerRemoval(app, {
    path: '/instances/:id/delete',
    permission: 'manageInstances',
    help: 'removing-an-instance',
    what: 'instance',
    describe: async (db, actor, id) => {
      const instance = await getInstance(db, actor, app.secretBox, id)
      return {
        name: instance.name,
        backHref: `/instances/${id}/settings`,
        version: instance.version,
        uses: await shapesUsingInstance(db, actor, id),
      }
    },
    remove: removeInstance,
    afterRemoval: '/connectors',
    blockersPartial: 'instances/shape-uses',
  })
}
