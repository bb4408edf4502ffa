import t from 'tap'
import {
  checkDefinition,
  type ConnectorDefinition,
  type EndpointSpec,
  type FieldSpec,
} from '../../src/domain/definition.js'
import { mergeDefinitions, type MergeConflict, type MergeSide } from '../../src/domain/definition-merge.js'

const field = (key: string, label: string, traits: Partial<FieldSpec> = {}): FieldSpec => ({
  key,
  label,
  secret: false,
  required: false,
  ...traits,
})

const endpoint = (
  key: string,
  name: string,
  entity: string,
  url: string,
  variables: FieldSpec[] = [],
): EndpointSpec => ({
  key,
  name,
  entity,
  direction: 'receive',
  method: 'GET',
  url,
  variables,
})

/** A small valid definition every case starts from (unless it changes `base`). */
function fixture(): ConnectorDefinition {
  return {
    protocol: 'HTTP',
    baseUrl: 'https://{{shop}}.example.com/api',
    dateFormat: 'ISO 8601',
    rateLimit: { amount: 2, unit: 'second' },
    variables: [field('shop', 'Shop', { required: true }), field('currency', 'Currency', { default: 'EUR' })],
    authMethods: [
      {
        key: 'api_key',
        name: 'API key',
        type: 'token',
        fields: [field('token', 'Token', { secret: true, required: true }), field('account', 'Account')],
      },
      {
        key: 'basic',
        name: 'Basic',
        type: 'basic',
        fields: [
          field('username', 'Username', { required: true }),
          field('password', 'Password', { secret: true, required: true }),
        ],
      },
    ],
    endpoints: [
      endpoint('get_orders', 'Get orders', 'Order', '/orders?page={{page}}', [
        field('page', 'Page', { default: '1' }),
        field('status', 'Status'),
      ]),
      endpoint('get_customers', 'Get customers', 'Customer', '/customers'),
      endpoint('get_products', 'Get products', 'Product', '/products'),
    ],
  }
}

function item<T extends { key: string }>(list: T[], key: string): T {
  const found = list.find((i) => i.key === key)
  if (!found) throw new Error(`no item ${key}`)
  return found
}
const without = <T extends { key: string }>(list: T[], key: string) => list.filter((i) => i.key !== key)
const ordered = <T extends { key: string }>(list: T[], keys: string[]) => keys.map((key) => item(list, key))
const orders = (d: ConnectorDefinition) => item(d.endpoints, 'get_orders')
const apiKey = (d: ConnectorDefinition) => item(d.authMethods, 'api_key')
const refunds = () => endpoint('get_refunds', 'Get refunds', 'Refund', '/refunds')
const invoices = () => endpoint('get_invoices', 'Get invoices', 'Invoice', '/invoices')

type Change = (d: ConnectorDefinition) => void

interface Case {
  name: string
  /** Changes the fixture into the marketplace version the connector was installed from. */
  base?: Change
  /** Changes a copy of base into the company's definition. */
  mine?: Change
  /** Changes a copy of base into the vendor's new version. */
  theirs?: Change
  choices?: Record<string, MergeSide>
  expect: {
    /** Changes a copy of base into the expected merged definition. */
    definition?: Change
    /** [id, kind] of every conflict, in order; none when absent. */
    conflicts?: [string, MergeConflict['kind']][]
    unresolved?: string[]
    /** Checked when given. */
    keptFromMine?: string[]
    /** Whole conflicts to compare, found by id. */
    details?: MergeConflict[]
  }
}

const mineUrl: Change = (d) => {
  orders(d).url = '/orders/mine?page={{page}}'
}
const theirsUrl: Change = (d) => {
  orders(d).url = '/orders/theirs?page={{page}}'
}

const mineRefunds: Change = (d) => {
  d.endpoints.push({ ...refunds(), variables: [field('since', 'Since', { required: true }), field('limit', 'Limit')] })
}
const theirsRefunds: Change = (d) => {
  d.endpoints.push({
    ...refunds(),
    url: '/v2/refunds',
    variables: [field('since', 'Created since'), field('cursor', 'Cursor')],
  })
}

const removeCustomers: Change = (d) => {
  d.endpoints = without(d.endpoints, 'get_customers')
}
const changeCustomers: Change = (d) => {
  item(d.endpoints, 'get_customers').url = '/v2/customers'
}
const removeBasic: Change = (d) => {
  d.authMethods = without(d.authMethods, 'basic')
}
const changeBasic: Change = (d) => {
  item(d.authMethods, 'basic').fields.push(field('domain', 'Domain'))
}

const cases: Case[] = [
  { name: 'nothing changed on either side', expect: { definition: () => {}, keptFromMine: [] } },
  {
    name: 'only mine changed: all of mine is kept',
    mine: (d) => {
      orders(d).url = '/orders?page={{page}}&status={{status}}'
      d.endpoints.splice(1, 0, refunds())
      item(d.variables, 'currency').default = 'USD'
    },
    expect: {
      definition: (d) => {
        orders(d).url = '/orders?page={{page}}&status={{status}}'
        d.endpoints.splice(1, 0, refunds())
        item(d.variables, 'currency').default = 'USD'
      },
      keptFromMine: [
        'kept your change to variable “Currency”: default value',
        'kept your change to endpoint “Get orders”: URL',
        'kept your endpoint “Get refunds”',
      ],
    },
  },
  {
    name: 'only theirs changed: the new version as it is',
    theirs: (d) => {
      d.baseUrl = 'https://{{shop}}.example.com/api/v2'
      removeCustomers(d)
      d.authMethods.push({ key: 'oauth', name: 'OAuth', type: 'oauth2-authorisation-code', fields: [] })
      item(orders(d).variables, 'status').label = 'Order status'
    },
    expect: {
      definition: (d) => {
        d.baseUrl = 'https://{{shop}}.example.com/api/v2'
        removeCustomers(d)
        d.authMethods.push({ key: 'oauth', name: 'OAuth', type: 'oauth2-authorisation-code', fields: [] })
        item(orders(d).variables, 'status').label = 'Order status'
      },
      keptFromMine: [],
    },
  },
  {
    name: 'both made the same changes: no conflict, nothing of mine on top',
    mine: (d) => {
      mineUrl(d)
      d.endpoints.push(refunds())
    },
    theirs: (d) => {
      mineUrl(d)
      d.endpoints.push(refunds())
    },
    expect: {
      definition: (d) => {
        mineUrl(d)
        d.endpoints.push(refunds())
      },
      keptFromMine: [],
    },
  },
  {
    name: 'both changed one URL differently, no choice: theirs, unresolved',
    mine: mineUrl,
    theirs: theirsUrl,
    expect: {
      definition: theirsUrl,
      conflicts: [['endpoints.get_orders.url', 'both-changed']],
      unresolved: ['endpoints.get_orders.url'],
      keptFromMine: [],
      details: [
        {
          id: 'endpoints.get_orders.url',
          where: 'endpoint “Get orders”: URL',
          kind: 'both-changed',
          base: '/orders?page={{page}}',
          mine: '/orders/mine?page={{page}}',
          theirs: '/orders/theirs?page={{page}}',
        },
      ],
    },
  },
  {
    name: 'both changed one URL differently, mine chosen',
    mine: mineUrl,
    theirs: theirsUrl,
    choices: { 'endpoints.get_orders.url': 'mine' },
    expect: {
      definition: mineUrl,
      conflicts: [['endpoints.get_orders.url', 'both-changed']],
      keptFromMine: ['kept your change to endpoint “Get orders”: URL'],
    },
  },
  {
    name: 'both changed one URL differently, theirs chosen',
    mine: mineUrl,
    theirs: theirsUrl,
    choices: { 'endpoints.get_orders.url': 'theirs' },
    expect: { definition: theirsUrl, conflicts: [['endpoints.get_orders.url', 'both-changed']], keptFromMine: [] },
  },
  {
    name: 'both changed different properties of one endpoint: combined, no conflict',
    mine: mineUrl,
    theirs: (d) => {
      orders(d).name = 'Get all orders'
      orders(d).entity = 'Orders'
    },
    expect: {
      definition: (d) => {
        mineUrl(d)
        orders(d).name = 'Get all orders'
        orders(d).entity = 'Orders'
      },
      keptFromMine: ['kept your change to endpoint “Get orders”: URL'],
    },
  },
  {
    name: 'connector settings: different ones changed on each side are combined, rate limit amount and unit apart',
    mine: (d) => {
      d.baseUrl = 'https://{{shop}}.example.com/api/v2'
      d.rateLimit.amount = 5
    },
    theirs: (d) => {
      d.dateFormat = 'YYYY-MM-DD'
      d.rateLimit.unit = 'minute'
    },
    expect: {
      definition: (d) => {
        d.baseUrl = 'https://{{shop}}.example.com/api/v2'
        d.dateFormat = 'YYYY-MM-DD'
        d.rateLimit = { amount: 5, unit: 'minute' }
      },
      keptFromMine: ['kept your change to the base URL', 'kept your change to the rate limit (requests)'],
    },
  },
  {
    name: 'connector settings changed differently on both sides: one conflict each, the same change none',
    mine: (d) => {
      d.protocol = 'SOAP'
      d.baseUrl = 'https://mine.example.com'
      d.rateLimit.amount = 5
    },
    theirs: (d) => {
      d.protocol = 'SOAP'
      d.baseUrl = 'https://theirs.example.com'
      d.rateLimit = { amount: 10, unit: 'minute' }
    },
    choices: { baseUrl: 'mine' },
    expect: {
      definition: (d) => {
        d.protocol = 'SOAP'
        d.baseUrl = 'https://mine.example.com'
        d.rateLimit = { amount: 10, unit: 'minute' }
      },
      conflicts: [
        ['baseUrl', 'both-changed'],
        ['rateLimit.amount', 'both-changed'],
      ],
      unresolved: ['rateLimit.amount'],
      keptFromMine: ['kept your change to the base URL'],
      details: [
        {
          id: 'baseUrl',
          where: 'connector: base URL',
          kind: 'both-changed',
          base: 'https://{{shop}}.example.com/api',
          mine: 'https://mine.example.com',
          theirs: 'https://theirs.example.com',
        },
        {
          id: 'rateLimit.amount',
          where: 'connector: rate limit (requests)',
          kind: 'both-changed',
          base: '2',
          mine: '5',
          theirs: '10',
        },
      ],
    },
  },
  {
    name: 'an endpoint added by mine is kept, right after the endpoint before it in mine',
    mine: (d) => {
      d.endpoints.splice(1, 0, refunds())
    },
    theirs: (d) => {
      d.endpoints.push(invoices())
    },
    expect: {
      definition: (d) => {
        d.endpoints.splice(1, 0, refunds())
        d.endpoints.push(invoices())
      },
      keptFromMine: ['kept your endpoint “Get refunds”'],
    },
  },
  {
    name: 'a variable added by theirs is kept where theirs put it',
    theirs: (d) => {
      d.variables.unshift(field('locale', 'Locale'))
    },
    expect: {
      definition: (d) => {
        d.variables.unshift(field('locale', 'Locale'))
      },
      keptFromMine: [],
    },
  },
  {
    name: 'the same endpoint added by both, identical: one copy',
    mine: (d) => {
      d.endpoints.push(refunds())
    },
    theirs: (d) => {
      d.endpoints.push(refunds())
    },
    expect: {
      definition: (d) => {
        d.endpoints.push(refunds())
      },
      keptFromMine: [],
    },
  },
  {
    name: 'the same key added by both, different: each differing property a conflict, the rest merged',
    mine: mineRefunds,
    theirs: theirsRefunds,
    expect: {
      definition: (d) => {
        d.endpoints.push({
          ...refunds(),
          url: '/v2/refunds',
          variables: [field('since', 'Created since'), field('limit', 'Limit'), field('cursor', 'Cursor')],
        })
      },
      conflicts: [
        ['endpoints.get_refunds.url', 'both-added'],
        ['endpoints.get_refunds.variables.since.label', 'both-added'],
        ['endpoints.get_refunds.variables.since.required', 'both-added'],
      ],
      unresolved: [
        'endpoints.get_refunds.url',
        'endpoints.get_refunds.variables.since.label',
        'endpoints.get_refunds.variables.since.required',
      ],
      keptFromMine: ['kept your variable “Limit” in endpoint “Get refunds”'],
      details: [
        {
          id: 'endpoints.get_refunds.url',
          where: 'endpoint “Get refunds”: URL',
          kind: 'both-added',
          base: null,
          mine: '/refunds',
          theirs: '/v2/refunds',
        },
        {
          id: 'endpoints.get_refunds.variables.since.required',
          where: 'endpoint “Get refunds”: variable “Since”: required',
          kind: 'both-added',
          base: null,
          mine: 'yes',
          theirs: 'no',
        },
      ],
    },
  },
  {
    name: 'the same key added by both, different, mine chosen everywhere',
    mine: mineRefunds,
    theirs: theirsRefunds,
    choices: {
      'endpoints.get_refunds.url': 'mine',
      'endpoints.get_refunds.variables.since.label': 'mine',
      'endpoints.get_refunds.variables.since.required': 'mine',
    },
    expect: {
      definition: (d) => {
        d.endpoints.push({
          ...refunds(),
          variables: [field('since', 'Since', { required: true }), field('limit', 'Limit'), field('cursor', 'Cursor')],
        })
      },
      conflicts: [
        ['endpoints.get_refunds.url', 'both-added'],
        ['endpoints.get_refunds.variables.since.label', 'both-added'],
        ['endpoints.get_refunds.variables.since.required', 'both-added'],
      ],
      keptFromMine: [
        'kept your version of endpoint “Get refunds”: URL',
        'kept your version of endpoint “Get refunds”: variable “Since”: label',
        'kept your version of endpoint “Get refunds”: variable “Since”: required',
        'kept your variable “Limit” in endpoint “Get refunds”',
      ],
    },
  },
  {
    name: 'removed by mine, unchanged by theirs: removed',
    mine: removeCustomers,
    theirs: (d) => {
      item(d.endpoints, 'get_products').url = '/v2/products'
    },
    expect: {
      definition: (d) => {
        removeCustomers(d)
        item(d.endpoints, 'get_products').url = '/v2/products'
      },
      keptFromMine: ['kept your removal of endpoint “Get customers”'],
    },
  },
  {
    name: 'removed by theirs, unchanged by mine: removed',
    theirs: removeBasic,
    expect: { definition: removeBasic, keptFromMine: [] },
  },
  {
    name: 'removed by both: removed',
    mine: removeCustomers,
    theirs: removeCustomers,
    expect: { definition: removeCustomers, keptFromMine: [] },
  },
  {
    name: 'removed by mine, changed by theirs, no choice: one conflict for the endpoint, theirs stays',
    mine: removeCustomers,
    theirs: changeCustomers,
    expect: {
      definition: changeCustomers,
      conflicts: [['endpoints.get_customers', 'removed-by-mine']],
      unresolved: ['endpoints.get_customers'],
      keptFromMine: [],
      details: [
        {
          id: 'endpoints.get_customers',
          where: 'endpoint “Get customers”',
          kind: 'removed-by-mine',
          base: 'Get customers: GET /customers (receive Customer)',
          mine: null,
          theirs: 'Get customers: GET /v2/customers (receive Customer)',
        },
      ],
    },
  },
  {
    name: 'removed by mine, changed by theirs, mine chosen: removed',
    mine: removeCustomers,
    theirs: changeCustomers,
    choices: { 'endpoints.get_customers': 'mine' },
    expect: {
      definition: removeCustomers,
      conflicts: [['endpoints.get_customers', 'removed-by-mine']],
      keptFromMine: ['kept your removal of endpoint “Get customers”, which the new version changes'],
    },
  },
  {
    name: 'removed by theirs, changed by mine, no choice: removed, unresolved',
    mine: changeBasic,
    theirs: removeBasic,
    expect: {
      definition: removeBasic,
      conflicts: [['authMethods.basic', 'removed-by-theirs']],
      unresolved: ['authMethods.basic'],
      details: [
        {
          id: 'authMethods.basic',
          where: 'authentication method “Basic”',
          kind: 'removed-by-theirs',
          base: 'Basic: Basic (fields Username, Password)',
          mine: 'Basic: Basic (fields Username, Password, Domain)',
          theirs: null,
        },
      ],
    },
  },
  {
    name: 'removed by theirs, changed by mine, mine chosen: mine’s authentication method kept',
    mine: changeBasic,
    theirs: removeBasic,
    choices: { 'authMethods.basic': 'mine' },
    expect: {
      definition: changeBasic,
      conflicts: [['authMethods.basic', 'removed-by-theirs']],
      keptFromMine: ['kept your authentication method “Basic”, which the new version removes'],
    },
  },
  {
    name: 'removed by theirs, changed by mine, theirs chosen: removed',
    mine: changeBasic,
    theirs: removeBasic,
    choices: { 'authMethods.basic': 'theirs' },
    expect: { definition: removeBasic, conflicts: [['authMethods.basic', 'removed-by-theirs']], keptFromMine: [] },
  },
  {
    name: 'a field of an authentication method changed on both sides: a conflict inside the method, other changes combined',
    mine: (d) => {
      item(apiKey(d).fields, 'token').label = 'API token'
    },
    theirs: (d) => {
      item(apiKey(d).fields, 'token').label = 'Access token'
      item(apiKey(d).fields, 'account').secret = true
    },
    expect: {
      definition: (d) => {
        item(apiKey(d).fields, 'token').label = 'Access token'
        item(apiKey(d).fields, 'account').secret = true
      },
      conflicts: [['authMethods.api_key.fields.token.label', 'both-changed']],
      unresolved: ['authMethods.api_key.fields.token.label'],
      details: [
        {
          id: 'authMethods.api_key.fields.token.label',
          where: 'authentication method “API key”: field “Token”: label',
          kind: 'both-changed',
          base: 'Token',
          mine: 'API token',
          theirs: 'Access token',
        },
      ],
    },
  },
  {
    name: 'an endpoint variable’s default changed on both sides, mine chosen',
    mine: (d) => {
      item(orders(d).variables, 'page').default = '0'
    },
    theirs: (d) => {
      item(orders(d).variables, 'page').default = '10'
    },
    choices: { 'endpoints.get_orders.variables.page.default': 'mine' },
    expect: {
      definition: (d) => {
        item(orders(d).variables, 'page').default = '0'
      },
      conflicts: [['endpoints.get_orders.variables.page.default', 'both-changed']],
      keptFromMine: ['kept your change to endpoint “Get orders”: variable “Page”: default value'],
    },
  },
  {
    name: 'nested items added and removed inside a merged item',
    mine: (d) => {
      apiKey(d).fields.splice(1, 0, field('region', 'Region'))
    },
    theirs: (d) => {
      orders(d).variables = without(orders(d).variables, 'status')
      orders(d).variables.push(field('limit', 'Limit'))
    },
    expect: {
      definition: (d) => {
        apiKey(d).fields.splice(1, 0, field('region', 'Region'))
        orders(d).variables = [item(orders(d).variables, 'page'), field('limit', 'Limit')]
      },
      keptFromMine: ['kept your field “Region” in authentication method “API key”'],
    },
  },
  {
    name: 'an endpoint variable removed by mine and changed by theirs: one conflict for the variable',
    mine: (d) => {
      orders(d).variables = without(orders(d).variables, 'status')
    },
    theirs: (d) => {
      item(orders(d).variables, 'status').label = 'Order status'
    },
    expect: {
      definition: (d) => {
        item(orders(d).variables, 'status').label = 'Order status'
      },
      conflicts: [['endpoints.get_orders.variables.status', 'removed-by-mine']],
      unresolved: ['endpoints.get_orders.variables.status'],
      details: [
        {
          id: 'endpoints.get_orders.variables.status',
          where: 'endpoint “Get orders”: variable “Status”',
          kind: 'removed-by-mine',
          base: 'Status (optional)',
          mine: null,
          theirs: 'Order status (optional)',
        },
      ],
    },
  },
  {
    name: 'an authentication field removed by theirs and changed by mine, mine chosen: mine’s field kept',
    mine: (d) => {
      item(apiKey(d).fields, 'account').required = true
    },
    theirs: (d) => {
      apiKey(d).fields = without(apiKey(d).fields, 'account')
    },
    choices: { 'authMethods.api_key.fields.account': 'mine' },
    expect: {
      definition: (d) => {
        item(apiKey(d).fields, 'account').required = true
      },
      conflicts: [['authMethods.api_key.fields.account', 'removed-by-theirs']],
      keptFromMine: ['kept your field “Account” in authentication method “API key”, which the new version removes'],
      details: [
        {
          id: 'authMethods.api_key.fields.account',
          where: 'authentication method “API key”: field “Account”',
          kind: 'removed-by-theirs',
          base: 'Account (optional)',
          mine: 'Account (required)',
          theirs: null,
        },
      ],
    },
  },
  {
    name: 'a default added by mine is kept',
    mine: (d) => {
      item(orders(d).variables, 'status').default = 'open'
    },
    expect: {
      definition: (d) => {
        item(orders(d).variables, 'status').default = 'open'
      },
      keptFromMine: ['kept your change to endpoint “Get orders”: variable “Status”: default value'],
    },
  },
  {
    name: 'a default removed by theirs is removed',
    theirs: (d) => {
      delete item(d.variables, 'currency').default
    },
    expect: {
      definition: (d) => {
        delete item(d.variables, 'currency').default
      },
      keptFromMine: [],
    },
  },
  {
    name: 'a default removed by mine and changed by theirs: a conflict with nothing on mine’s side',
    mine: (d) => {
      delete item(orders(d).variables, 'page').default
    },
    theirs: (d) => {
      item(orders(d).variables, 'page').default = '10'
    },
    choices: { 'endpoints.get_orders.variables.page.default': 'mine' },
    expect: {
      definition: (d) => {
        delete item(orders(d).variables, 'page').default
      },
      conflicts: [['endpoints.get_orders.variables.page.default', 'both-changed']],
      keptFromMine: ['kept your change to endpoint “Get orders”: variable “Page”: default value'],
      details: [
        {
          id: 'endpoints.get_orders.variables.page.default',
          where: 'endpoint “Get orders”: variable “Page”: default value',
          kind: 'both-changed',
          base: '1',
          mine: null,
          theirs: '10',
        },
      ],
    },
  },
  {
    name: 'a default added by both, differently, on the same new variable: a conflict',
    mine: (d) => {
      d.variables.push(field('locale', 'Locale', { default: 'en' }))
    },
    theirs: (d) => {
      d.variables.push(field('locale', 'Locale'))
    },
    expect: {
      definition: (d) => {
        d.variables.push(field('locale', 'Locale'))
      },
      conflicts: [['variables.locale.default', 'both-added']],
      unresolved: ['variables.locale.default'],
      details: [
        {
          id: 'variables.locale.default',
          where: 'variable “Locale”: default value',
          kind: 'both-added',
          base: null,
          mine: 'en',
          theirs: null,
        },
      ],
    },
  },
  {
    name: 'reordered by mine only: mine’s order, theirs’ changes',
    mine: (d) => {
      d.endpoints = ordered(d.endpoints, ['get_products', 'get_orders', 'get_customers'])
    },
    theirs: changeCustomers,
    expect: {
      definition: (d) => {
        changeCustomers(d)
        d.endpoints = ordered(d.endpoints, ['get_products', 'get_orders', 'get_customers'])
      },
      keptFromMine: [],
    },
  },
  {
    name: 'reordered by theirs only: theirs’ order, mine’s changes',
    mine: (d) => {
      item(apiKey(d).fields, 'token').label = 'API token'
    },
    theirs: (d) => {
      d.authMethods = ordered(d.authMethods, ['basic', 'api_key'])
    },
    expect: {
      definition: (d) => {
        item(apiKey(d).fields, 'token').label = 'API token'
        d.authMethods = ordered(d.authMethods, ['basic', 'api_key'])
      },
    },
  },
  {
    name: 'reordered by both, differently: theirs’ order',
    mine: (d) => {
      d.endpoints = ordered(d.endpoints, ['get_customers', 'get_orders', 'get_products'])
    },
    theirs: (d) => {
      d.endpoints = ordered(d.endpoints, ['get_products', 'get_customers', 'get_orders'])
    },
    expect: {
      definition: (d) => {
        d.endpoints = ordered(d.endpoints, ['get_products', 'get_customers', 'get_orders'])
      },
    },
  },
  {
    name: 'reordered by both, the same way: that order',
    mine: (d) => {
      d.endpoints.reverse()
    },
    theirs: (d) => {
      d.endpoints.reverse()
    },
    expect: {
      definition: (d) => {
        d.endpoints.reverse()
      },
    },
  },
  {
    name: 'an endpoint mine added after one theirs removed takes that one’s place',
    mine: (d) => {
      d.endpoints.splice(2, 0, refunds())
    },
    theirs: removeCustomers,
    expect: {
      definition: (d) => {
        removeCustomers(d)
        d.endpoints.splice(1, 0, refunds())
      },
    },
  },
  {
    name: 'reordered by mine, an endpoint added by theirs: it follows the endpoint before it in theirs',
    mine: (d) => {
      d.endpoints = ordered(d.endpoints, ['get_products', 'get_customers', 'get_orders'])
    },
    theirs: (d) => {
      d.endpoints.splice(1, 0, invoices())
    },
    expect: {
      definition: (d) => {
        d.endpoints = [...ordered(d.endpoints, ['get_products', 'get_customers', 'get_orders']), invoices()]
      },
    },
  },
  {
    name: 'reordered by theirs, an endpoint added by mine: it follows the endpoint before it in mine',
    mine: (d) => {
      d.endpoints.splice(2, 0, refunds())
    },
    theirs: (d) => {
      d.endpoints = ordered(d.endpoints, ['get_products', 'get_customers', 'get_orders'])
    },
    expect: {
      definition: (d) => {
        d.endpoints = [
          ...ordered(d.endpoints, ['get_products', 'get_customers']),
          refunds(),
          item(d.endpoints, 'get_orders'),
        ]
      },
      keptFromMine: ['kept your endpoint “Get refunds”'],
    },
  },
  {
    name: 'a variable mine added first stays first, before the one theirs added first',
    mine: (d) => {
      d.variables.unshift(field('locale', 'Locale'))
    },
    theirs: (d) => {
      d.variables.unshift(field('region', 'Region'))
    },
    expect: {
      definition: (d) => {
        d.variables.unshift(field('locale', 'Locale'), field('region', 'Region'))
      },
    },
  },
  {
    name: 'nested fields reordered by mine, one changed by theirs: mine’s order, theirs’ change',
    mine: (d) => {
      apiKey(d).fields.reverse()
    },
    theirs: (d) => {
      item(apiKey(d).fields, 'account').label = 'Account ID'
    },
    expect: {
      definition: (d) => {
        apiKey(d).fields.reverse()
        item(apiKey(d).fields, 'account').label = 'Account ID'
      },
    },
  },
  {
    name: 'an endpoint removed by mine whose variables theirs only reordered: removed, reordering is no change',
    mine: (d) => {
      d.endpoints = without(d.endpoints, 'get_orders')
    },
    theirs: (d) => {
      orders(d).variables.reverse()
    },
    expect: {
      definition: (d) => {
        d.endpoints = without(d.endpoints, 'get_orders')
      },
      keptFromMine: ['kept your removal of endpoint “Get orders”'],
    },
  },
  {
    name: 'a choice for something that is not a conflict changes nothing',
    theirs: theirsUrl,
    choices: { 'endpoints.get_orders.url': 'mine' },
    expect: { definition: theirsUrl },
  },
  {
    name: 'conflicts come in definition order: connector, variables, authentication methods, endpoints',
    mine: (d) => {
      item(d.endpoints, 'get_customers').url = '/v2/customers'
      orders(d).name = 'My orders'
      item(orders(d).variables, 'page').label = 'My page'
      apiKey(d).type = 'basic'
      item(d.variables, 'shop').label = 'My shop'
      d.rateLimit.unit = 'hour'
      d.dateFormat = 'DD/MM/YYYY'
    },
    theirs: (d) => {
      d.dateFormat = 'YYYY-MM-DD'
      d.rateLimit.unit = 'minute'
      item(d.variables, 'shop').label = 'Shop name'
      apiKey(d).type = 'oauth2-client-credentials'
      orders(d).name = 'Fetch orders'
      item(orders(d).variables, 'page').label = 'Page number'
      removeCustomers(d)
    },
    expect: {
      definition: (d) => {
        d.dateFormat = 'YYYY-MM-DD'
        d.rateLimit.unit = 'minute'
        item(d.variables, 'shop').label = 'Shop name'
        apiKey(d).type = 'oauth2-client-credentials'
        orders(d).name = 'Fetch orders'
        item(orders(d).variables, 'page').label = 'Page number'
        removeCustomers(d)
      },
      conflicts: [
        ['dateFormat', 'both-changed'],
        ['rateLimit.unit', 'both-changed'],
        ['variables.shop.label', 'both-changed'],
        ['authMethods.api_key.type', 'both-changed'],
        ['endpoints.get_orders.name', 'both-changed'],
        ['endpoints.get_orders.variables.page.label', 'both-changed'],
        ['endpoints.get_customers', 'removed-by-theirs'],
      ],
      unresolved: [
        'dateFormat',
        'rateLimit.unit',
        'variables.shop.label',
        'authMethods.api_key.type',
        'endpoints.get_orders.name',
        'endpoints.get_orders.variables.page.label',
        'endpoints.get_customers',
      ],
      keptFromMine: [],
      details: [
        {
          id: 'authMethods.api_key.type',
          where: 'authentication method “API key”: type',
          kind: 'both-changed',
          base: 'Token-based',
          mine: 'Basic',
          theirs: 'OAuth 2 client credentials',
        },
        {
          id: 'endpoints.get_orders.variables.page.label',
          where: 'endpoint “Get orders”: variable “Page”: label',
          kind: 'both-changed',
          base: 'Page',
          mine: 'My page',
          theirs: 'Page number',
        },
      ],
    },
  },
]

const FORM_SAFE = /^[A-Za-z0-9_.]+$/

for (const c of cases) {
  t.test(c.name, async (t) => {
    const base = fixture()
    c.base?.(base)
    const mine = structuredClone(base)
    c.mine?.(mine)
    const theirs = structuredClone(base)
    c.theirs?.(theirs)
    const inputs = structuredClone({ base, mine, theirs, choices: c.choices })

    const result = mergeDefinitions(base, mine, theirs, c.choices)

    t.strictSame({ base, mine, theirs, choices: c.choices }, inputs, 'the inputs are unchanged')
    t.strictSame(mergeDefinitions(base, mine, theirs, c.choices), result, 'the same inputs give the same result')
    if (c.expect.definition) {
      const expected = structuredClone(base)
      c.expect.definition(expected)
      t.strictSame(result.definition, expected, 'merged definition')
    }
    t.strictSame(
      result.conflicts.map((conflict) => [conflict.id, conflict.kind]),
      c.expect.conflicts ?? [],
      'conflicts',
    )
    t.strictSame(result.unresolved, c.expect.unresolved ?? [], 'unresolved')
    if (c.expect.keptFromMine) t.strictSame(result.keptFromMine, c.expect.keptFromMine, 'kept from mine')
    for (const detail of c.expect.details ?? []) {
      t.strictSame(
        result.conflicts.find((conflict) => conflict.id === detail.id),
        detail,
        `conflict ${detail.id}`,
      )
    }
    const ids = result.conflicts.map((conflict) => conflict.id)
    t.ok(
      ids.every((id) => FORM_SAFE.test(id)),
      `form-safe ids: ${ids.join(' ')}`,
    )
    t.equal(new Set(ids).size, ids.length, 'unique ids')
  })
}

t.test('the fixture is a valid definition', async (t) => {
  t.strictSame(checkDefinition(fixture()), [])
})

t.test('a merge of two valid definitions can be invalid, and checkDefinition says so', async (t) => {
  const base = fixture()
  const mine = structuredClone(base)
  item(mine.endpoints, 'get_products').url = '/products?currency={{currency}}'
  const theirs = structuredClone(base)
  theirs.variables = without(theirs.variables, 'currency')
  t.strictSame(checkDefinition(mine), [])
  t.strictSame(checkDefinition(theirs), [])

  const { definition, conflicts } = mergeDefinitions(base, mine, theirs)

  t.strictSame(conflicts, [])
  t.strictSame(checkDefinition(definition), [
    { path: '/endpoints/2/url', message: '{{currency}} is not a variable of this connector or endpoint' },
  ])
})

t.test('the merged definition shares nothing with the inputs', async (t) => {
  const base = fixture()
  const mine = structuredClone(base)
  mine.endpoints.push(refunds())
  const theirs = structuredClone(base)
  theirs.authMethods.push({
    key: 'oauth',
    name: 'OAuth',
    type: 'oauth2-authorisation-code',
    fields: [field('scope', 'Scope')],
  })
  const inputs = structuredClone({ base, mine, theirs })

  const { definition } = mergeDefinitions(base, mine, theirs)
  definition.rateLimit.amount = 99
  for (const list of [
    definition.variables,
    ...definition.authMethods.map((a) => a.fields),
    ...definition.endpoints.map((e) => e.variables),
  ]) {
    for (const f of list) f.label = 'changed'
    list.push(field('extra', 'Extra'))
  }
  for (const e of definition.endpoints) e.url = '/changed'
  for (const a of definition.authMethods) a.name = 'changed'

  t.strictSame({ base, mine, theirs }, inputs)
})
