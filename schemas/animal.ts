import { Type } from 'typebox'
import { Id, errorResponses } from './common.ts'

const text = (maxLength: number, description: string) => Type.String({ minLength: 1, maxLength, description })

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
