import { Type, type TOptional, type TSchema } from 'typebox'
import { FAVOURITES, FEELINGS, KNOWLEDGE_TOPICS } from '../src/core/types.ts'
import { LANGUAGES } from '../src/core/text/language.ts'
import { Id, errorResponses } from './common.ts'

const text = (maxLength: number, description: string) => Type.String({ minLength: 1, maxLength, description })

/** An object whose keys come from one of the project's lists, each optional, nothing else allowed. */
function keyed<K extends string, T extends TSchema>(keys: readonly K[], value: T, description?: string) {
  const properties = Object.fromEntries(keys.map((key) => [key, Type.Optional(value)])) as Record<K, TOptional<T>>
  return Type.Object(properties, { additionalProperties: false, description })
}

const KnowledgeFact = Type.Object(
  {
    topics: Type.Array(Type.Enum(KNOWLEDGE_TOPICS), {
      minItems: 1, maxItems: 4, uniqueItems: true, description: 'what the fact is about',
    }),
    text: text(300, 'the fact in the animal\'s own words, first person: "I sleep up to 20 hours a day."'),
    why: Type.Optional(text(300, 'the reason, for a visitor who asks "why?"')),
  },
  { additionalProperties: false },
)

/** What the offline responder says in one language (see docs/llm.md, "Offline responder"). */
export const AnimalKnowledge = Type.Object(
  {
    kind: Type.Optional(text(80, 'what it is, with the article, as in "I\'m …": "a lion", "un león", "ein Löwe"')),
    greeting: Type.Optional(text(300, 'what the animal says to hello')),
    goodbye: Type.Optional(text(300, 'what the animal says to goodbye')),
    catchphrases: Type.Optional(Type.Array(text(120, 'a little sound or saying that opens a reply now and then'), { maxItems: 10 })),
    facts: Type.Optional(Type.Array(KnowledgeFact, { maxItems: 100 })),
    jokes: Type.Optional(Type.Array(text(300, 'a joke a young child gets'), { maxItems: 20 })),
    favourites: Type.Optional(keyed(FAVOURITES, text(300, 'its favourite, in a sentence'))),
    feelings: Type.Optional(keyed(FEELINGS, text(300, 'how it feels, in a sentence'))),
  },
  { additionalProperties: false },
)

export const AnimalFields = {
  name: text(60, 'the animal\'s own name, e.g. Leo'),
  species: text(80, 'e.g. African lion'),
  personality: text(1000, 'voice and temperament, used in the persona prompt'),
  facts: Type.Array(text(300, 'a short true fact a child would enjoy'), { minItems: 1, maxItems: 50 }),
  greeting: Type.Optional(text(300, 'what the animal says to hello')),
  voice: Type.Optional(text(200, 'how the animal talks')),
  age: Type.Optional(text(60, 'e.g. 7 years')),
  diet: Type.Optional(text(300, 'what it eats')),
  habitat: Type.Optional(text(300, 'where it lives in the wild')),
  knowledge: Type.Optional(keyed(LANGUAGES, AnimalKnowledge, 'what the offline responder knows and says, per language')),
}

export const Animal = Type.Object({
  animalId: Type.String(),
  ...AnimalFields,
  updatedAt: Type.Optional(Type.String({ format: 'date-time' })),
})

export const AnimalBody = Type.Object(AnimalFields, { additionalProperties: false })

export const AnimalParams = Type.Object({ animalId: Id('e.g. lion') })

export const listAnimalsSchema = {
  tags: ['animals'],
  summary: 'The animals one can talk to',
  response: { 200: Type.Object({ animals: Type.Array(Animal) }), ...errorResponses },
}

export const getAnimalSchema = {
  tags: ['animals'],
  summary: 'One animal',
  params: AnimalParams,
  response: { 200: Animal, ...errorResponses },
}

export const putAnimalSchema = {
  tags: ['animals'],
  summary: 'Create or replace an animal\'s personality (zookeeper, admin)',
  params: AnimalParams,
  body: AnimalBody,
  response: { 200: Animal, ...errorResponses },
}
