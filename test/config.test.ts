// The configuration read from the environment: TRUST_PROXY (who may say the client's address).
import t from 'tap'
import { ConfigError, fastifyTrustProxy, readConfig } from '../src/config.js'

const base = {
  NODE_ENV: 'production',
  SESSION_SECRET: 'config-test-session-secret-0123456789abcdef',
  ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
}

t.test('TRUST_PROXY is off unless set, also in production', async (t) => {
  t.equal(readConfig(base).trustProxy, false)
  t.equal(readConfig({ ...base, TRUST_PROXY: '' }).trustProxy, false)
  t.equal(readConfig({ ...base, TRUST_PROXY: 'false' }).trustProxy, false)
  t.equal(readConfig({ ...base, TRUST_PROXY: '0' }).trustProxy, false)
})

t.test('TRUST_PROXY takes a number of proxies or a list of addresses and ranges', async (t) => {
  t.equal(readConfig({ ...base, TRUST_PROXY: '2' }).trustProxy, 2)
  t.same(readConfig({ ...base, TRUST_PROXY: '10.0.0.5, 10.1.0.0/16,::1,fd00::/8 ,loopback' }).trustProxy, [
    '10.0.0.5',
    '10.1.0.0/16',
    '::1',
    'fd00::/8',
    'loopback',
  ])
})

t.test(
  'a hop count trusts exactly that many peers (Fastify alone would read a number as "trust nobody")',
  async (t) => {
    const trust = fastifyTrustProxy(2) as (address: string, hop: number) => boolean
    t.same(
      [0, 1, 2, 3].map((hop) => trust('198.51.100.1', hop)),
      [true, true, false, false],
    )
    t.equal(fastifyTrustProxy(false), false)
  },
)

t.test('an invalid TRUST_PROXY is a clear configuration error', async (t) => {
  for (const [value, message] of [
    ['true', /TRUST_PROXY=true would let any client choose its own address/],
    [
      'yes',
      /TRUST_PROXY must be a number of proxies or a comma-separated list of IP addresses and CIDR ranges .*; "yes" is not\./,
    ],
    ['10.0.0.1, 10.0.0.300', /"10\.0\.0\.300" is not\./],
    ['10.0.0.0/33', /"10\.0\.0\.0\/33" is not\./],
    ['10.0.0.1,', /"" is not\./],
    ['-1', /"-1" is not\./],
    ['11', /TRUST_PROXY must be a number of proxies from 1 to 10/],
  ] as const) {
    t.throws(() => readConfig({ ...base, TRUST_PROXY: value }), new ConfigError(''), value)
    t.throws(() => readConfig({ ...base, TRUST_PROXY: value }), { message }, value)
  }
})
