// The offline responder's answer quality, measured: every labelled question of
// test/fixtures/offline-questions.json is asked of every seed animal and graded 0/1/2. The test
// fails below the averages it states; it prints the table by language and by animal.
import t from 'tap'
import type { Language } from '../src/core/text/language.ts'
import { seedAnimals } from '../src/seed/index.ts'
import { average, grade, questionsFor, type Grade } from './helpers/offline-grades.ts'

/** Overall average to keep (of 2): a wrong answer in twelve costs about 0.17. */
const OVERALL = 1.7
/** No language and no animal may fall far behind the others. */
const EACH = 1.5

const animals = seedAnimals()
const grades: Grade[] = animals.flatMap((animal) => questionsFor(animal.animalId).map((question) => grade(animal, question)))

t.test('at least 30 graded questions per animal, in all four languages', async (t) => {
  for (const animal of animals) {
    const questions = questionsFor(animal.animalId)
    t.ok(questions.length >= 30, `${animal.animalId}: ${questions.length} questions`)
    t.same([...new Set(questions.map((q) => q.lang))].sort(), ['de', 'en', 'es', 'fr'])
  }
})

t.test('graded answers', async (t) => {
  const by = (key: (g: Grade) => string) => {
    const groups = new Map<string, Grade[]>()
    for (const g of grades) groups.set(key(g), [...(groups.get(key(g)) ?? []), g])
    return groups
  }
  const table = (groups: Map<string, Grade[]>) =>
    [...groups].map(([name, list]) => `${name}: ${average(list).toFixed(2)} (${list.length})`).join(', ')
  t.comment(`overall ${average(grades).toFixed(2)} of 2 over ${grades.length} answers`)
  t.comment(`by language: ${table(by((g) => g.question.lang))}`)
  t.comment(`by animal: ${table(by((g) => g.animalId))}`)
  for (const g of grades.filter((g) => g.score < 2)) {
    t.comment(`${g.score} ${g.animalId} [${g.question.lang}] ${g.question.q} -> missing ${g.failed.join(', ')}: ${g.reply}`)
  }

  t.ok(average(grades) >= OVERALL, `overall average ${average(grades).toFixed(2)} >= ${OVERALL}`)
  for (const [language, list] of by((g) => g.question.lang)) t.ok(average(list) >= EACH, `${language as Language}: ${average(list).toFixed(2)} >= ${EACH}`)
  for (const [animalId, list] of by((g) => g.animalId)) t.ok(average(list) >= EACH, `${animalId}: ${average(list).toFixed(2)} >= ${EACH}`)
})
