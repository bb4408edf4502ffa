// The instance forms (src/forms/instance.ts): the wizard's body becomes the typed input of
// createInstance, with the connector's defaults for steps not reached, and a refused save goes back to
// the step that asks for the field with the message.
import t from 'tap'
import type { ConnectorDefinition } from '../../src/domain/definition.js'
import { detailsInput, newInstanceInput, stepOf, valuesOf } from '../../src/forms/instance.js'

const definition: ConnectorDefinition = {
  protocol: 'HTTP',
  baseUrl: 'https://api.example',
  dateFormat: 'Y-m-d',
  rateLimit: { amount: 5, unit: 'second' },
  variables: [{ key: 'shop', label: 'Shop', secret: false, required: true }],
  authMethods: [
    {
      key: 'token',
      name: 'Token',
      type: 'token',
      fields: [{ key: 'token', label: 'Token', secret: true, required: true }],
    },
  ],
  endpoints: [
    {
      key: 'get_orders',
      name: 'Get orders',
      entity: 'Orders',
      direction: 'receive',
      method: 'GET',
      url: '/orders',
      variables: [],
    },
  ],
}

t.test('what was entered, and the connector defaults for what was not', async (t) => {
  t.same(
    newInstanceInput(
      { name: 'Shop UK', step: 'name', 'auth.token': 's3cret', 'var.shop': 'uk', other: 'x' },
      definition,
    ),
    {
      name: 'Shop UK',
      timeZone: 'UTC',
      dateFormat: 'Y-m-d',
      rateLimitAmount: '5',
      rateLimitUnit: 'second',
      authMethod: 'token',
      values: { 'auth.token': 's3cret', 'var.shop': 'uk' },
    },
  )
  t.same(valuesOf({ name: 'x', 'var.shop': '' }), { 'var.shop': '' }, 'only authentication and variable values')
  t.same(
    detailsInput({}),
    { name: '', timeZone: '', dateFormat: '', rateLimitAmount: '', rateLimitUnit: '' },
    'a settings form sent empty stays empty',
  )
})

t.test('each message belongs to the wizard step that asks for its field', async (t) => {
  t.same(['name', 'timeZone', 'rateLimitUnit', 'authMethod', 'auth.token', 'var.shop'].map(stepOf), [
    'name',
    'settings',
    'settings',
    'authentication',
    'credentials',
    'credentials',
  ])
})
