import t from 'tap'
import { detectLanguage, hintedLanguage } from '../src/core/text/language.ts'
import { foldText, normalizeText } from '../src/core/text/normalize.ts'

t.test('normalizeText undoes the usual disguises', async (t) => {
  const cases: Array<[string, string]> = [
    ['K I L L myself', 'kill myself'],
    ['k.i.l.l me', 'kill me'],
    ['h4te y0u', 'hate you'],
    ['ѕtupid іdiot', 'stupid idiot'], // Cyrillic look-alikes
    ['k\u200bi\u200dll', 'kill'], // zero-width characters
    ['𝐤𝐢𝐥𝐥', 'kill'], // mathematical bold letters
    ['fuuuuck', 'fuck'],
    ['Où habites-tu ?', 'ou habites tu'],
    ['Straße', 'strasse'],
  ]
  for (const [input, expected] of cases) t.equal(normalizeText(input).joined, expected, input)
})

t.test('numbers stay numbers and short letter runs stay words', async (t) => {
  t.equal(normalizeText('my phone is 555-0134').folded, 'my phone is 555 0134')
  t.equal(normalizeText('I am 7').folded, 'i am 7')
  t.equal(normalizeText('a b cat').joined, 'a b cat')
})

t.test('base64 text is decoded and checked too', async (t) => {
  t.match(normalizeText(Buffer.from('kill myself').toString('base64')).folded, /kill myself/)
  t.notMatch(normalizeText('Supercalifragilistic').folded, / /, 'a long plain word is not decoded')
})

t.test('foldText folds word lists like messages', async (t) => {
  t.equal(foldText('Éléphant'), 'elephant')
  t.equal(foldText("don't"), 'dont')
})

t.test('detectLanguage: the four languages, short messages, and a fallback', async (t) => {
  const cases: Array<[string, string]> = [
    ['What do you eat?', 'en'], ['wat do u eet', 'en'], ['do you bite?', 'en'],
    ['¿Qué comes?', 'es'], ['hola leo', 'es'], ['dónde vives', 'es'],
    ['Was frisst du?', 'de'], ['hallo', 'de'], ['ich bin verloren', 'de'],
    ['Que manges-tu ?', 'fr'], ['bonjour', 'fr'], ['je suis perdu', 'fr'],
  ]
  for (const [input, expected] of cases) t.equal(detectLanguage(input), expected, input)
  t.equal(detectLanguage('🦁🦁', 'de'), 'de', 'nothing to go on: the fallback')
})

t.test('a ! or | that ends a word is punctuation, inside a word a letter', async (t) => {
  t.equal(normalizeText('Hello!').folded, 'hello')
  t.equal(normalizeText('stupid!!').folded, 'stupid')
  t.equal(normalizeText('k!ll').folded, 'kill')
  t.equal(detectLanguage('Hello!'), 'en')
})

t.test('word pairs settle a tie between languages that share both words', async (t) => {
  t.equal(detectLanguage('Tu es triste ?'), 'fr')
  t.equal(detectLanguage('¿Cuál es tu color favorito?'), 'es')
  t.equal(hintedLanguage('tu es'), 'fr')
  t.equal(hintedLanguage('ok'), undefined, 'no hint: the caller decides')
  t.equal(hintedLanguage('comes', new Map([['comes', ['es']]])), 'es', 'a caller\'s own hints count too')
})
