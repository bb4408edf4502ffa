// The merge form and the instance-moves forms read their bodies into typed choices (src/forms/).
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { mergeChoices } from '../../src/forms/merge.js'
import { fieldsWhere, migrationChoices } from '../../src/forms/instance-moves.js'

t.test('a merge form answers mine or theirs per conflict; anything else is no answer', async (t) => {
  t.same(
    mergeChoices({ 'choice.a': 'mine', 'choice.b': 'theirs', 'choice.c': 'both', revision: 3, version: '2.0.0' }),
    { a: 'mine', b: 'theirs' },
  )
})

t.test('the picker and preview: ids checked, one box or many, the first value of a choice', async (t) => {
  const instance = randomUUID()
  const shape = randomUUID()
  t.same(
    migrationChoices({
      from: '',
      instance: [instance],
      suffix: ' (new)',
      [`flow.${instance}`]: 'f1',
      [`authMethod.${instance}`]: ['token', 'basic'],
      [`endpoint.${shape}`]: 'get_orders',
      'flow.not-an-id': 'x',
    }),
    {
      fromConnectorId: undefined,
      instanceIds: [instance],
      flowIds: { [instance]: ['f1'] },
      suffix: ' (new)',
      authMethods: { [instance]: 'token' },
      endpoints: { [shape]: 'get_orders' },
    },
  )
  t.same(
    fieldsWhere({ '': 'a', suffix: 'b', 'endpoint.x': 'c' }, (field) => field !== 'suffix'),
    { '': 'a', 'endpoint.x': 'c' },
  )
})
