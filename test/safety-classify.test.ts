// The input decision for single messages: actions, the reply chosen, its language, the reminder.
import t from 'tap'
import { classifyInput } from '../src/core/safety/classify.ts'
import { SafetyLayer } from '../src/core/safety/layer.ts'
import { silentLog } from '../src/core/log.ts'

const layer = new SafetyLayer({ moderationTimeoutMs: 100, log: silentLog, helpText: 'Helpline: 0800 123.' })

t.test('a child who only says their name or age: allowed, scrubbed, with the gentle reminder', async (t) => {
  for (const message of ['my name is Emma', 'I am 7 years old', "je m'appelle Chloé"]) {
    const verdict = classifyInput(message)
    t.equal(verdict.action, 'allow', message)
    t.ok(verdict.privacyReminder, message)
    t.match(verdict.flags, [{ category: 'personal_info', severity: 'low', source: 'input' }], message)
    t.notMatch(verdict.scrubbed, /Emma|7|Chlo/, message)
  }
})

t.test('support replies: per category and language, with the help text; the most urgent wins', async (t) => {
  const fr = await layer.checkInput('mon papa me frappe', 'Leo')
  t.equal(fr.action, 'support')
  t.equal(fr.language, 'fr')
  t.match(fr.reply, /Ce n'est pas de ta faute.*Helpline: 0800 123\.$/)
  const both = await layer.checkInput("I'm lost and a man i dont know wants me to go with him", 'Leo')
  t.equal(both.replyCategory, 'lost_child', 'a lost child is told to stay put and ask staff')
  t.match(both.reply, /Stay right where you are/)
  const de = await layer.checkInput('ich will nicht mehr leben', 'Leo')
  t.match(de.reply, /nicht deine Schuld/)
})

t.test('redirect replies name the animal and fit the category', async (t) => {
  const climb = await layer.checkInput('can i climb over the fence into your enclosure', 'Pip')
  t.equal(climb.action, 'redirect')
  t.match(climb.reply, /fences keep both of us safe/)
  const swear = await layer.checkInput('du arschloch', 'Pip')
  t.match(swear.reply, /Ich bin Pip/)
})

t.test('the safety identifier is a keyed hash: stable per user, different per user and per key', async (t) => {
  const other = new SafetyLayer({ moderationTimeoutMs: 100, log: silentLog, identifierSecret: 'another-secret-entirely' })
  t.equal(layer.identify('alice'), layer.identify('alice'))
  t.not(layer.identify('alice'), layer.identify('bob'))
  t.not(layer.identify('alice'), other.identify('alice'))
  t.notMatch(layer.identify('alice'), /alice/)
})
