// The words children use, per language (lexicon/<language>.json), made ready for matching: every
// word is folded by the shared text module, spelling slips are fixed from a small table, unknown
// words are corrected towards the lexicon by Fuse.js (fuzzy search) and all words are stemmed by
// the Snowball stemmers, so "eet", "eating" and "eats" all meet "eat". Lists and messages go
// through the same steps, so like always matches like.
import Fuse from 'fuse.js'
import snowball from 'snowball-stemmers'
import { foldText } from '../core/text/normalize.ts'
import { LANGUAGES, type Language } from '../core/text/language.ts'
import de from './lexicon/de.json' with { type: 'json' }
import en from './lexicon/en.json' with { type: 'json' }
import es from './lexicon/es.json' with { type: 'json' }
import fr from './lexicon/fr.json' with { type: 'json' }

/** The shape of a lexicon file. */
export interface LexiconFile {
  spellings: Record<string, string>
  stopwords: string[]
  questionWords: string[]
  joiners: string[]
  intents: Record<string, string[]>
  followUps: Record<string, string[]>
  favourites: Record<string, string[]>
  feelings: Record<string, string[]>
  topics: Record<string, string[]>
}

/** A list entry found in a message: which list (`group`), which key in it, and how strongly. */
export interface CueHit {
  group: 'intents' | 'followUps' | 'favourites' | 'feelings' | 'topics'
  key: string
  /** Words matched (a phrase counts more than a word); a weak cue (~where) counts half. */
  weight: number
}

interface Cue extends CueHit {
  stems: string[]
}

const FILES: Record<Language, LexiconFile> = { en, es, de, fr }
const STEMMER_NAMES: Record<Language, string> = { en: 'english', es: 'spanish', de: 'german', fr: 'french' }
/** Fuse scores run from 0 (same) to 1; above these a correction is a guess (one slip in a short word, fewer in a long one). */
const FUZZY_THRESHOLD = 0.34
const FUZZY_THRESHOLD_LONG = 0.3
/** Shorter words are too easily another word ("boy" is not "bye"): the spelling table fixes those. */
const MIN_FUZZY_LENGTH = 4
/** Bounded memo size per language (stems and corrections): a day of kiosk questions fits. */
const MEMO_LIMIT = 20_000

function remember<V>(memo: Map<string, V>, key: string, make: () => V): V {
  let value = memo.get(key)
  if (value === undefined) {
    if (memo.size >= MEMO_LIMIT) memo.clear()
    value = make()
    memo.set(key, value)
  }
  return value
}

export class Lexicon {
  readonly language: Language
  /** Stems that carry no meaning of their own ("the", "do", "you"). */
  readonly stopStems: Set<string>
  /** Folded words that start a new question after "and" ("what", "where"). */
  readonly questionWords: Set<string>
  readonly joiners: Set<string>
  /** Every folded word the lists use: a word outside it may be a misspelling of one inside. */
  readonly known: Set<string>
  readonly #spellings: Map<string, string[]>
  readonly #single = new Map<string, Cue[]>()
  readonly #phrases: Cue[] = []
  readonly #stemmer: { stem(word: string): string }
  readonly #stems = new Map<string, string>()
  readonly #corrections = new Map<string, string>()
  /** One small Fuse index per first letter: a child's slip rarely changes the first letter. */
  readonly #fuzzy = new Map<string, Fuse<string>>()

  constructor(language: Language, file: LexiconFile) {
    this.language = language
    this.#stemmer = snowball.newStemmer(STEMMER_NAMES[language])
    this.#spellings = new Map(Object.entries(file.spellings).map(([slip, fix]) => [foldText(slip), foldText(fix).split(' ')]))
    this.stopStems = new Set(file.stopwords.map((word) => this.stem(foldText(word))))
    this.questionWords = new Set(file.questionWords.map(foldText))
    this.joiners = new Set(file.joiners.map(foldText))
    this.known = new Set([...file.stopwords, ...file.questionWords, ...file.joiners].map(foldText))
    for (const fix of this.#spellings.values()) for (const word of fix) this.known.add(word)

    for (const group of ['intents', 'followUps', 'favourites', 'feelings', 'topics'] as const) {
      for (const [key, cues] of Object.entries(file[group])) {
        for (const cue of cues) {
          const weak = cue.startsWith('~')
          const words = this.words(cue.replace(/^~/, ''), false)
          for (const word of words) this.known.add(word)
          const stems = words.map((word) => this.stem(word))
          const entry: Cue = { group, key, stems, weight: stems.length * (weak ? 0.5 : 1) }
          // "nager" and "nages" are one stem: one entry, or the topic would count twice.
          const same = (other: Cue) => other.group === group && other.key === key && other.stems.join(' ') === entry.stems.join(' ')
          if (stems.length === 1) {
            const entries = this.#single.get(stems[0]) ?? []
            if (!entries.some(same)) this.#single.set(stems[0], [...entries, entry])
          } else if (!this.#phrases.some(same)) this.#phrases.push(entry)
        }
      }
    }
    const byLetter = new Map<string, string[]>()
    for (const word of this.known) if (word.length >= 3) byLetter.set(word[0], [...(byLetter.get(word[0]) ?? []), word])
    for (const [letter, words] of byLetter) {
      this.#fuzzy.set(letter, new Fuse(words, { includeScore: true, threshold: FUZZY_THRESHOLD, location: 0, distance: 10 }))
    }
  }

  /** Folded words of a text, with the usual spelling slips fixed ("wat do u eet" -> what do you eet). */
  words(text: string, fixSpelling = true): string[] {
    const folded = foldText(this.language === 'fr' ? withoutElision(text) : text)
    if (folded === '') return []
    const words = folded.split(' ')
    return fixSpelling ? words.flatMap((word) => this.#spellings.get(word) ?? [word]) : words
  }

  stem(word: string): string {
    return remember(this.#stems, word, () => this.#stemmer.stem(word))
  }

  /**
   * The lexicon word a misspelt word most likely means, or the word itself. Words the lexicon
   * knows, words in `alsoKnown` (the animal's own vocabulary), numbers and very short words stay.
   */
  correct(word: string, alsoKnown?: ReadonlySet<string>): string {
    if (word.length < MIN_FUZZY_LENGTH || this.known.has(word) || alsoKnown?.has(word) || /\d/.test(word)) return word
    return remember(this.#corrections, word, () => {
      const candidates = (this.#fuzzy.get(word[0])?.search(word) ?? []).filter(
        (result) => fitsLength(word, result.item) && result.score! <= (word.length <= 4 ? FUZZY_THRESHOLD : FUZZY_THRESHOLD_LONG),
      )
      // On a tie, a word that means something beats a stopword ("beek": beak, not been).
      const meaningful = (item: string) => (this.stopStems.has(this.stem(item)) ? 1 : 0)
      candidates.sort((a, b) => a.score! - b.score! || meaningful(a.item) - meaningful(b.item))
      return candidates[0]?.item ?? word
    })
  }

  /**
   * A part of a message as stems (spelling fixed, misspellings corrected, `alsoKnown` words left
   * alone) and the list entries found in it.
   */
  analyse(words: readonly string[], alsoKnown?: ReadonlySet<string>): { stems: string[]; hits: CueHit[] } {
    const stems = words.map((word) => this.stem(this.correct(word, alsoKnown)))
    return { stems, hits: this.cues(stems) }
  }

  /** Every list entry the stems contain: single words by lookup, phrases as runs of stems. */
  cues(stems: readonly string[]): CueHit[] {
    const hits: CueHit[] = []
    for (const stem of stems) for (const cue of this.#single.get(stem) ?? []) hits.push(cue)
    for (const cue of this.#phrases) if (containsRun(stems, cue.stems)) hits.push(cue)
    return hits
  }
}

/**
 * Fuse finds a word inside a longer one ("slep" in "slept"), so lengths must fit too: a short
 * word may lose one letter ("slep"), and a longer word may be off by two.
 */
function fitsLength(word: string, candidate: string): boolean {
  const extra = candidate.length - word.length
  if (word.length <= 5) return extra === 0 || extra === 1
  return Math.abs(extra) <= 2
}

/** "l'eau", "qu'est-ce", "j'aime": French elisions become whole words before folding removes the apostrophe. */
function withoutElision(text: string): string {
  return text.replace(/\b(qu|[cdjlmnst])['’]/gi, '$1e ')
}

function containsRun(stems: readonly string[], run: readonly string[]): boolean {
  outer: for (let start = 0; start + run.length <= stems.length; start++) {
    for (let i = 0; i < run.length; i++) if (stems[start + i] !== run[i]) continue outer
    return true
  }
  return false
}

export const LEXICONS: Record<Language, Lexicon> = Object.fromEntries(
  LANGUAGES.map((language) => [language, new Lexicon(language, FILES[language])]),
) as Record<Language, Lexicon>

/** Words that appear in one language's lexicon only: extra evidence for language detection. */
export const LEXICON_HINTS: ReadonlyMap<string, Language[]> = (() => {
  const languagesOf = new Map<string, Language[]>()
  for (const language of LANGUAGES) {
    for (const word of LEXICONS[language].known) languagesOf.set(word, [...(languagesOf.get(word) ?? []), language])
  }
  return new Map([...languagesOf].filter(([word, languages]) => languages.length === 1 && word.length >= 3))
})()
