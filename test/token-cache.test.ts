// The verified-token cache: a hit is only ever the very token that verified, while it is valid.
import t from 'tap'
import { VerifiedTokenCache } from '../src/token-cache.ts'

const nowSeconds = () => Math.floor(Date.now() / 1000)
const token = (payload: string, signature = 'c2lnbmF0dXJlLW9mLWEtZ29vZC10b2tlbi0xMjM0NTY3ODkw') => `eyJhbGciOiJIUzI1NiJ9.${payload}.${signature}`

t.test('a remembered token is answered from the cache, with its claims', async (t) => {
  const cache = new VerifiedTokenCache({ maxEntries: 10, ttlMs: 60_000, toleranceMs: 0 })
  const claims = { sub: 'alice', role: 'user', exp: nowSeconds() + 60 }
  t.equal(cache.get(token('alice')), undefined, 'nothing before')
  t.equal(cache.remember(token('alice'), claims), claims)
  t.equal(cache.get(token('alice')), claims)
})

t.test('a token sharing the key (the end of the signature) but not the rest is a miss', async (t) => {
  const cache = new VerifiedTokenCache({ maxEntries: 10, ttlMs: 60_000, toleranceMs: 0 })
  cache.remember(token('alice'), { sub: 'alice', role: 'user' })
  t.equal(cache.get(token('mallory')), undefined, 'another payload with the same signature')
  t.equal(cache.get(`x${token('alice')}`), undefined, 'a longer string ending the same way')
  t.equal(cache.get(token('alice').slice(1)), undefined)
  t.ok(cache.get(token('alice')), 'the good token is still remembered')
})

t.test('an entry never outlives the token (exp + tolerance) nor the TTL', async (t) => {
  const expiring = new VerifiedTokenCache({ maxEntries: 10, ttlMs: 60_000, toleranceMs: 0 })
  expiring.remember(token('old'), { sub: 'a', role: 'user', exp: nowSeconds() - 1 })
  t.equal(expiring.get(token('old')), undefined, 'expired: not served although it was stored')
  const tolerant = new VerifiedTokenCache({ maxEntries: 10, ttlMs: 60_000, toleranceMs: 5000 })
  tolerant.remember(token('old'), { sub: 'a', role: 'user', exp: nowSeconds() - 1 })
  t.ok(tolerant.get(token('old')), 'within the clock tolerance, as the verifier accepts it')

  const short = new VerifiedTokenCache({ maxEntries: 10, ttlMs: 30, toleranceMs: 0 })
  short.remember(token('no-exp'), { sub: 'a', role: 'user' })
  t.ok(short.get(token('no-exp')))
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(short.get(token('no-exp')), undefined, 'gone after the TTL')
})

t.test('bounded: the oldest entry goes first', async (t) => {
  const cache = new VerifiedTokenCache({ maxEntries: 3, ttlMs: 60_000, toleranceMs: 0 })
  const tokens = [1, 2, 3, 4].map((n) => token(`user${n}`, `signature-number-${n}-that-is-long-enough-for-a-key`))
  for (const tok of tokens) cache.remember(tok, { sub: tok, role: 'user' })
  t.equal(cache.size, 3)
  t.equal(cache.get(tokens[0]), undefined)
  t.ok(cache.get(tokens[3]))
})
