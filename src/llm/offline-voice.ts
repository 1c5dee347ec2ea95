// Turns an animal's facts into things the animal says about itself, in the first person.
// Rewrites are deliberately light: only sentence shapes that are safe to rewrite are changed
// ("Lions sleep..." -> "We lions sleep...", "A lion's roar..." -> "My roar..."); any other fact
// is framed instead ("Here's something about me: ...").
import type { Animal } from '../core/types.ts'

const PLURAL_PRONOUNS: Record<string, string> = {
  they: 'we',
  "they're": "we're",
  them: 'us',
  their: 'our',
  theirs: 'ours',
  themselves: 'ourselves',
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** The names a fact may use for the animal's kind: "gentoo penguin" and "penguin". */
function kindNames(animal: Animal): string[] {
  const species = animal.species.trim()
  const last = species.split(/\s+/).pop() ?? species
  return [...new Set([species, last])]
}

/** The fact as the animal's own words, or undefined when its shape is not safe to rewrite. */
export function firstPerson(fact: string, animal: Animal): string | undefined {
  if (/^(I|I'm|My|We|Our)\b/.test(fact)) return fact
  for (const kind of kindNames(animal)) {
    const k = escapeRegExp(kind)
    const possessive = new RegExp(`^(a|an|the) ${k}['’]s\\s+`, 'i')
    if (possessive.test(fact)) return fact.replace(possessive, 'My ')

    const plural = new RegExp(`^${k}(s|es)\\b`, 'i')
    const match = plural.exec(fact)
    if (match) {
      const rest = fact.slice(match[0].length).replace(/\b(they're|they|them|their|theirs|themselves)\b/gi, (word) => {
        const swapped = PLURAL_PRONOUNS[word.toLowerCase()]
        return word[0] === word[0].toUpperCase() ? swapped[0].toUpperCase() + swapped.slice(1) : swapped
      })
      return `We ${kind}${match[1]}${rest}`
    }
  }
  return undefined
}

/** Lower-cases the first letter so a text can continue a sentence ("I eat meat, ..."). */
export function continuing(sentence: string): string {
  if (/^I\b/.test(sentence) || /^.[A-Z]/.test(sentence)) return sentence
  return sentence[0].toLowerCase() + sentence.slice(1)
}
