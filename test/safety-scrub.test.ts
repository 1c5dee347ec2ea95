// The personal-details scrubber against its fixtures (test/fixtures/pii-corpus.json): every
// detail becomes its placeholder, and a message with none comes back unchanged.
import fc from 'fast-check'
import t from 'tap'
import corpus from './fixtures/pii-corpus.json' with { type: 'json' }
import { scrubPersonalDetails } from '../src/core/safety/scrub.ts'

t.test('each fixture scrubs to exactly the expected text', async (t) => {
  for (const { text, scrubbed } of corpus.messages) t.equal(scrubPersonalDetails(text).text, scrubbed, text)
})

t.test('found names the kinds of detail replaced', async (t) => {
  t.same(scrubPersonalDetails('my name is Emma Smith, I live at 12 Oak Street, my phone is 555-0134').found, ['phone', 'address', 'name'])
  t.same(scrubPersonalDetails('my email is kid@example.com and my tiktok username is kiddo').found, ['email', 'username'])
  t.same(scrubPersonalDetails('What do you eat?').found, [])
})

t.test('scrubbing twice changes nothing more, and placeholders are never scrubbed', async (t) => {
  for (const { text } of corpus.messages) {
    const once = scrubPersonalDetails(text).text
    t.equal(scrubPersonalDetails(once).text, once, text)
  }
})

t.test('any text: the scrubber never throws and never lengthens a text without a detail', async () => {
  fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => {
    const { text: out, found } = scrubPersonalDetails(text)
    return found.length > 0 || out === text
  }))
})
