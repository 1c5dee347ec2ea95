// Children misspell ("suicde", "myslef", "lsot"). Words of a message that are not known are
// corrected towards the vocabulary of the safety phrases when exactly one vocabulary word is one
// edit away (a deletion, insertion, substitution or swap of neighbours), found through an index
// of single deletions (the symmetric-delete idea behind SymSpell): a few map look-ups per word.
// Short words are left alone, except for swapped neighbours ("lsot"), where a wrong guess is rare.
// Letters typed one by one ("s e n d n u d e s") come out of normalisation as one run
// ("sendnudes"); split() cuts such a run back into known words.

const MIN_EDIT_LENGTH = 5
const MIN_SWAP_LENGTH = 4
const MAX_SPLIT_WORD = 16
const SINGLE_LETTER_WORDS = new Set(['i', 'a', 'y'])

function deletions(word: string): string[] {
  const out: string[] = []
  for (let i = 0; i < word.length; i++) out.push(word.slice(0, i) + word.slice(i + 1))
  return out
}

function isNeighbourSwap(a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let i = 0
  while (i < a.length && a[i] === b[i]) i++
  return i < a.length - 1 && a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2)
}

/** Levenshtein distance of at most one (or a neighbour swap), for words whose deletions meet. */
function withinOneEdit(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false
  if (isNeighbourSwap(a, b)) return true
  let i = 0
  while (i < a.length && i < b.length && a[i] === b[i]) i++
  if (a.length === b.length) return a.slice(i + 1) === b.slice(i + 1)
  return a.length > b.length ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1)
}

export class FuzzyCorrector {
  private readonly known: Set<string>
  /** A vocabulary word, or one of its single deletions -> the vocabulary words it came from. */
  private readonly index = new Map<string, Set<string>>()

  /** `vocabulary`: words to correct towards; `known`: other words that are never corrected. */
  constructor(vocabulary: Iterable<string>, known: Iterable<string> = []) {
    this.known = new Set(known)
    for (const word of vocabulary) {
      this.known.add(word)
      if (word.length < MIN_SWAP_LENGTH) continue
      for (const key of [word, ...deletions(word)]) {
        let set = this.index.get(key)
        if (!set) this.index.set(key, (set = new Set()))
        set.add(word)
      }
    }
  }

  /** `run` cut into known words ("sendnudes" -> "send nudes"), or undefined when it cannot be. */
  split(run: string): string | undefined {
    // best[i]: the fewest words covering run.slice(0, i), and where the last one starts.
    const best: Array<{ words: number; from: number } | undefined> = [{ words: 0, from: 0 }]
    for (let end = 1; end <= run.length; end++) {
      for (let start = Math.max(0, end - MAX_SPLIT_WORD); start < end; start++) {
        const before = best[start]
        const word = run.slice(start, end)
        if (!before || !(this.known.has(word) && (word.length > 1 || SINGLE_LETTER_WORDS.has(word)))) continue
        if (!best[end] || before.words + 1 < best[end]!.words) best[end] = { words: before.words + 1, from: start }
      }
    }
    if (!best[run.length] || best[run.length]!.words < 2) return undefined
    const words: string[] = []
    for (let end = run.length; end > 0; end = best[end]!.from) words.unshift(run.slice(best[end]!.from, end))
    return words.join(' ')
  }

  /** The vocabulary word `word` is a misspelling of, or `word` itself. */
  correct(word: string): string {
    if (word.length < MIN_SWAP_LENGTH || this.known.has(word) || /\d/.test(word)) return word
    let found: string | undefined
    for (const key of [word, ...deletions(word)]) {
      for (const candidate of this.index.get(key) ?? []) {
        if (candidate === found) continue
        const close = word.length >= MIN_EDIT_LENGTH && candidate.length >= MIN_EDIT_LENGTH
          ? withinOneEdit(word, candidate)
          : isNeighbourSwap(word, candidate)
        if (!close) continue
        if (found) return word // two candidates: too unsure to guess
        found = candidate
      }
    }
    return found ?? word
  }
}
