// The definition forms (src/forms/definition.ts): a form body becomes the typed input of an edit,
// blank sub-field rows left out, and the domain's messages, keyed by input paths, come back beside the
// form's fields (rows counted as the form shows them, blank ones included).
import t from 'tap'
import * as definitionEdit from '../../src/domain/definition-edit.js'
import { applyEdit, type DefinitionEdit } from '../../src/domain/definition-edit.js'
import type { ConnectorDefinition } from '../../src/domain/definition.js'
import { Invalid } from '../../src/domain/errors.js'
import { definitionEdit as readEdit, fieldNamesOf, formFromInput, itemInput } from '../../src/forms/definition.js'

const definition: ConnectorDefinition = {
  protocol: 'HTTP',
  baseUrl: 'https://api.example',
  dateFormat: 'ISO 8601',
  rateLimit: { amount: 5, unit: 'second' },
  variables: [],
  authMethods: [
    {
      key: 'basic',
      name: 'Basic',
      type: 'basic',
      fields: [{ key: 'user', label: 'User', secret: false, required: true }],
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

/** An authentication method form whose first and third rows are blank. */
const body = {
  key: 'api_key',
  name: 'API key',
  type: 'token',
  field_key: ['', 'token', '', 'Bad Key'],
  field_label: ['', 'API token', '', ''],
  field_secret: ['no', 'yes', 'no', 'no'],
  field_required: ['no', 'yes', 'no', 'no'],
  field_default: ['', '', '', ''],
}

t.test('a form body becomes typed input: blank rows left out, the form row of each filled one kept', async (t) => {
  const { input, rowIndex } = itemInput('authMethod', body)
  t.same(input, {
    key: 'api_key',
    name: 'API key',
    type: 'token',
    fields: [
      { key: 'token', label: 'API token', secret: true, required: true, default: '' },
      { key: 'Bad Key', label: '', secret: false, required: false, default: '' },
    ],
  })
  t.same(rowIndex, [1, 3])
})

t.test('the domain keys its messages by input paths; the form shows them beside the rows they came from', async (t) => {
  const { edit, rowIndex } = readEdit({ kind: 'authMethod', action: 'add' }, body)
  let refused: Invalid | undefined
  try {
    applyEdit({ name: 'Shop', definition }, edit)
  } catch (error) {
    if (error instanceof Invalid) refused = error
    else throw error
  }
  t.ok(refused, 'refused')
  t.same(Object.keys(refused!.fields), ['fields.1.key', 'fields.1.label'], 'the domain knows nothing of the form')
  const fields = fieldNamesOf('authMethod', rowIndex)(refused!.fields)
  t.same(Object.keys(fields), ['field_key.3', 'field_label.3'], 'the fourth row of the form, blank rows counted')
  const shown = formFromInput('authMethod', body, fields)
  t.equal(shown.rows[3]!.key, 'Bad Key', 'the value is kept in that row')
  t.equal(shown.errors['field_key.3'], refused!.fields['fields.1.key'])
})

t.test('the domain takes typed input only: no form types or readers in it', async (t) => {
  for (const name of ['formFromInput', 'itemForm', 'detailsForm', 'isItemFilled']) t.notOk(name in definitionEdit, name)
  const edit: DefinitionEdit = {
    kind: 'variable',
    action: 'add',
    input: { key: 'shop', label: 'Shop', secret: false, required: true, default: '' },
  }
  t.same(applyEdit({ name: 'Shop', definition }, edit).definition.variables, [
    { key: 'shop', label: 'Shop', secret: false, required: true },
  ])
})
