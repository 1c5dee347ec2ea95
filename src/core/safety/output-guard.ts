// The output guard: the model's reply is checked before the child sees it. Text is released as
// soon as nothing it could still become is blocked: a word being typed is held only while it
// could turn into a blocked word ("sh..."), a URL, an email or a phone number; a phrase is held
// from its second word ("don't tell ..." waits once "tell" follows "don't"), until the next word
// settles it. A normal reply's first word is released with the chunk that brings it, and a
// blocked phrase's telling words are never shown. When the reply ends, the whole of it is
// checked once more, normalised (base64, s p a c e d letters): a hit there is on text already
// shown, the rare case the engine answers with a `replace` event. Profanity is matched from the
// data lists here, not through `obscenity` as on input: a model is not a child inventing
// spellings, and obscenity's cost on a whole reply would be most of the CPU budget of a turn.
import { foldText, normalizeText } from '../text/normalize.ts'
import rules from './data/output-rules.json' with { type: 'json' }
import type { SafetyCategory, Severity } from './types.ts'

export interface OutputBlock {
  category: SafetyCategory
  severity: Severity
}

/** What may be shown now; when `block` is set, nothing more of this reply may be. */
export interface GuardStep {
  release: string
  block?: OutputBlock
  /** The block is on text already shown (the whole-reply check): it must be withdrawn (`replace`). */
  retract?: boolean
}

interface Token {
  words: ReadonlySet<string>
  prefixes: readonly string[]
  /** How many other words may come before this one (the `~` in front of it). */
  gapBefore: number
}

interface Phrase extends OutputBlock {
  tokens: readonly Token[]
  negatable: boolean
}

const GAP_WORDS = 6
const NEGATION_WINDOW = 3
const PHONE_DIGITS = 7

function parseToken(token: string, gapBefore: number): Token {
  const words = new Set<string>()
  const prefixes: string[] = []
  for (const alt of token.split('|')) {
    if (alt.endsWith('*')) prefixes.push(foldText(alt.slice(0, -1)))
    else words.add(foldText(alt))
  }
  return { words, prefixes, gapBefore }
}

function parsePhrase(phrase: string): Token[] {
  const tokens: Token[] = []
  let gap = 0
  for (const part of phrase.trim().split(/\s+/)) {
    if (part === '~') gap = GAP_WORDS
    else {
      // A data word that folds into two ("l'amour" stays one; "e-mail" would be two) becomes two tokens.
      const folded = part.includes('|') || part.endsWith('*') ? [part] : foldText(part).split(' ')
      for (const word of folded) {
        tokens.push(parseToken(word, gap))
        gap = 0
      }
    }
  }
  return tokens
}

const matchesToken = (token: Token, word: string) => token.words.has(word) || token.prefixes.some((prefix) => word.startsWith(prefix))

/** Whether a word that begins with `start` (still being typed) could match `token`. */
function couldMatch(token: Token, start: string): boolean {
  for (const word of token.words) if (word.startsWith(start)) return true
  return token.prefixes.some((prefix) => prefix.startsWith(start) || start.startsWith(prefix))
}

/** Every output phrase, indexed by the words it can start with. */
class PhraseIndex {
  readonly byFirstWord = new Map<string, Phrase[]>()
  readonly byFirstPrefix: Phrase[] = []

  constructor(phrases: Phrase[]) {
    for (const phrase of phrases) {
      const first = phrase.tokens[0]
      for (const word of first.words) this.byFirstWord.set(word, [...(this.byFirstWord.get(word) ?? []), phrase])
      if (first.prefixes.length) this.byFirstPrefix.push(phrase)
    }
  }

  startingWith(word: string): Phrase[] {
    const exact = this.byFirstWord.get(word) ?? []
    const prefixed = this.byFirstPrefix.filter((phrase) => matchesToken(phrase.tokens[0], word))
    return prefixed.length ? [...exact, ...prefixed] : exact
  }
}

interface OutputCategory {
  severity: Severity
  negatable?: boolean
  phrases: string[]
}

const categories = rules.categories as Record<SafetyCategory, OutputCategory>
const phrases: Phrase[] = Object.entries(categories).flatMap(([category, spec]) =>
  spec.phrases.map((phrase) => ({ category: category as SafetyCategory, severity: spec.severity, negatable: spec.negatable ?? false, tokens: parsePhrase(phrase) })))
const index = new PhraseIndex(phrases)

/** Beginnings of the blocked single words ("s", "sh", "shi", "shit"): a word being typed that is one of them waits. */
const blockedWordStarts = new Set<string>()
const blockedStems: string[] = []
for (const { tokens } of phrases.filter((phrase) => phrase.tokens.length === 1)) {
  for (const word of tokens[0].words) for (let i = 1; i <= word.length; i++) blockedWordStarts.add(word.slice(0, i))
  for (const stem of tokens[0].prefixes) {
    blockedStems.push(stem)
    for (let i = 1; i <= stem.length; i++) blockedWordStarts.add(stem.slice(0, i))
  }
}
/** A word being typed with one of these may become a URL, an email or a phone number. */
const CONTACT_START = /[\d@/:.+]/

/** Whether the unfinished end of the reply (`folded`: its words folded) may still become something the guard blocks. */
function mayBecomeBlocked(tail: string, folded: readonly string[]): boolean {
  if (CONTACT_START.test(tail)) return true
  const last = folded.at(-1)
  return last !== undefined && last !== '' && (blockedWordStarts.has(last) || blockedStems.some((stem) => last.startsWith(stem)))
}
const negations = new Set(rules.negations)

const URL = /(?:https?:\/\/|www\.)\S|^[\p{L}\d-]+\.(?:com|net|org|info|biz|io|co|uk|de|fr|es|ly|me|app|gg|tv|xyz|link|site|online|club)(?:[/:?#]|$|[.,!?)]+$)/iu
const EMAIL = /[\p{L}\d._%+-]+@[\p{L}\d-]+\.[\p{L}\d.-]+/u
/** Only a word with one of these can be a URL or an email: the cheap test first. */
const CONTACT_HINT = /[.@/]/
const DIGITS_WORD = /^[+(]?\d[\d().\-/]*[.,;:!?)]*$/
const GROUPED_NUMBER = /^\d{1,3}(?:,\d{3})+/
/** Contact details spelt out, as a filter dodge: "example dot com", "www . site". */
const SPELT_CONTACT = /(?:^| )(?:\S+ dot (?:com|net|org|co|io|uk|de|fr|es)|www|https?|\S+ at \S+ dot \S+)(?= |$)/

/** Whitespace as \\s knows it, for the ASCII and the usual Unicode spaces. */
function isSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13) || code === 160 || code === 0x2028 || code === 0x2029 || (code >= 0x2000 && code <= 0x200a) || code === 0x3000 || code === 0x202f || code === 0x205f || code === 0x1680 || code === 0xfeff
}

/** One reply's partial phrase matches, fed one folded word at a time. */
class PhraseScanner {
  private partials: Array<{ phrase: Phrase; next: number; gapUsed: number; start: number }> = []
  readonly words: string[] = []
  /** Word position -> raw offset where the word begins. */
  private readonly starts = new Map<number, number>()

  /** Feeds the next word, which begins at raw offset `start`; the phrase it completes, if any. */
  feed(word: string, start: number): OutputBlock | undefined {
    const position = this.words.push(word) - 1
    const kept: typeof this.partials = []
    let hit: OutputBlock | undefined
    const advance = (partial: (typeof this.partials)[number]) => {
      if (partial.next === partial.phrase.tokens.length) hit ??= this.unlessNegated(partial.phrase, partial.start)
      else kept.push(partial)
    }
    for (const partial of this.partials) {
      const token = partial.phrase.tokens[partial.next]
      if (matchesToken(token, word)) advance({ ...partial, next: partial.next + 1, gapUsed: 0 })
      else if (partial.gapUsed < token.gapBefore) kept.push({ ...partial, gapUsed: partial.gapUsed + 1 })
    }
    for (const phrase of index.startingWith(word)) advance({ phrase, next: 1, gapUsed: 0, start: position })
    this.partials = kept
    this.starts.set(position, start)
    return hit
  }

  /**
   * Drops the phrases the next word cannot continue, knowing only how it begins (`start`, the
   * unfinished end of the text): "I lo..." is not "I am an AI", so "I " need not wait for "love".
   * True when some phrase may go on with that word: then the word itself waits.
   */
  prune(start: string): boolean {
    let continues = false
    this.partials = this.partials.filter(({ phrase, next, gapUsed }) => {
      const could = couldMatch(phrase.tokens[next], start)
      continues ||= could
      return could || gapUsed < phrase.tokens[next].gapBefore
    })
    return continues
  }

  /**
   * Raw offset from which text must wait: the start of the earliest phrase matched to its second
   * word or further ("don't tell"); undefined when none is. A phrase's first word alone ("don't")
   * is shown: holding every such common word would delay most replies' first word.
   */
  heldFrom(): number | undefined {
    let earliest: number | undefined
    for (const { start, next } of this.partials) if (next >= 2) earliest = Math.min(earliest ?? Infinity, this.starts.get(start)!)
    return earliest
  }

  private unlessNegated(phrase: Phrase, start: number): OutputBlock | undefined {
    if (phrase.negatable && this.words.slice(Math.max(0, start - NEGATION_WINDOW), start).some((word) => negations.has(word))) return undefined
    return { category: phrase.category, severity: phrase.severity }
  }
}

/**
 * No listed word or phrase word is longer than this; a longer run of letters is folded only this
 * far (folding is not linear on runs of thousands of letters, and such a run matches nothing).
 */
const MAX_WORD_LENGTH = 64
/**
 * A run without whitespace longer than this is checked in pieces of this length (long enough for
 * any URL or email a child could copy), so the text kept unchecked stays short however the
 * model streams: keeping it whole would make each delta cost as much as the run so far.
 */
const MAX_RUN_LENGTH = 2048

/**
 * Checks one reply as it streams. push() each delta, then finish() once the model is done.
 * Offsets are into the whole reply; only its unreleased or unchecked end is kept as one string
 * (`window`), so each delta costs what it brings, not what came before.
 */
export class OutputGuard {
  /** Every delta, in order: joined once, by finish() and releasedText. */
  private readonly deltas: string[] = []
  private length = 0
  /** The reply from offset `windowStart` (the lower of `released` and `checked`) on. */
  private window = ''
  private windowStart = 0
  private released = 0
  /** Raw offset up to which whole words have been checked. */
  private checked = 0
  private readonly scanner = new PhraseScanner()
  /** Consecutive words of digits (a phone number in pieces): where they began and how many digits. */
  private digitRun: { start: number; digits: number } | undefined
  private blocked: OutputBlock | undefined

  /** Everything shown to the child so far. */
  get releasedText(): string {
    return this.deltas.join('').slice(0, this.released)
  }

  push(delta: string): GuardStep {
    if (this.blocked) return { release: '', block: this.blocked }
    const before = this.length
    this.deltas.push(delta)
    this.window += delta
    this.length += delta.length
    const end = this.checkableEnd(before)
    if (end > this.checked) {
      const block = this.checkWords(this.slice(this.checked, end), this.checked)
      this.checked = end
      if (block) return this.block(block)
    }
    const tail = this.slice(this.checked, this.length)
    const folded = tail ? foldText(tail.slice(0, MAX_WORD_LENGTH)).split(' ') : []
    let tailContinuesPhrase = false
    if (tail) {
      tailContinuesPhrase = this.scanner.prune(folded[0])
      if (!/^[+(]?\d/.test(tail)) this.digitRun = undefined
    }
    const held = Math.min(this.scanner.heldFrom() ?? Infinity, this.digitRun?.start ?? Infinity)
    const release = held === Infinity && !tailContinuesPhrase && !mayBecomeBlocked(tail, folded)
      ? this.releaseUpTo(this.length)
      : this.releaseUpTo(Math.min(this.checked, held))
    this.trimWindow()
    return { release }
  }

  finish(): GuardStep {
    if (this.blocked) return { release: '', block: this.blocked }
    const block = this.checkWords(this.slice(this.checked, this.length), this.checked)
    this.checked = this.length
    if (block) return this.block(block)
    const late = wholeReplyBlock(this.deltas.join(''), this.scanner.words)
    if (late) return this.block(late, this.released > 0)
    return { release: this.releaseUpTo(this.length) }
  }

  /**
   * Where the whole words end: after the last whitespace, looked for only in what this delta
   * added (`before` on), or a piece of a run grown past MAX_RUN_LENGTH.
   */
  private checkableEnd(before: number): number {
    let end = this.length
    const from = Math.max(this.checked, before)
    while (end > from && !isSpace(this.window.charCodeAt(end - 1 - this.windowStart))) end--
    if (end > from) return end
    return this.length - this.checked > MAX_RUN_LENGTH ? this.length - ((this.length - this.checked) % MAX_RUN_LENGTH) : this.checked
  }

  private slice(from: number, to: number): string {
    return this.window.slice(from - this.windowStart, to - this.windowStart)
  }

  private trimWindow(): void {
    const start = Math.min(this.released, this.checked)
    if (start === this.windowStart) return
    this.window = this.window.slice(start - this.windowStart)
    this.windowStart = start
  }

  private block(block: OutputBlock, retract = false): GuardStep {
    this.blocked = block
    return { release: '', block, ...(retract ? { retract } : {}) }
  }

  private releaseUpTo(offset: number): string {
    if (offset <= this.released) return ''
    // A copy, not a slice: a slice keeps the window it came from alive in every event it goes into.
    const text = Buffer.from(this.slice(this.released, offset)).toString()
    this.released = offset
    return text
  }

  private checkWords(segment: string, offset: number): OutputBlock | undefined {
    for (const match of segment.matchAll(/\S+/g)) {
      const block = this.checkWord(match[0], offset + match.index)
      if (block) return block
    }
    return undefined
  }

  private checkWord(word: string, start: number): OutputBlock | undefined {
    if (CONTACT_HINT.test(word) && (URL.test(word) || EMAIL.test(word))) return { category: 'personal_info', severity: 'high' }
    if (DIGITS_WORD.test(word) && !GROUPED_NUMBER.test(word)) {
      this.digitRun ??= { start, digits: 0 }
      this.digitRun.digits += word.replace(/\D/g, '').length
      if (this.digitRun.digits >= PHONE_DIGITS) return { category: 'personal_info', severity: 'high' }
    } else {
      this.digitRun = undefined
    }
    const folded = foldText(word.length > MAX_WORD_LENGTH ? word.slice(0, MAX_WORD_LENGTH) : word)
    if (!folded) return undefined
    for (const part of folded.split(' ')) {
      const block = this.scanner.feed(part, start)
      if (block) return block
    }
    return undefined
  }
}

/**
 * The whole reply, once more, as the input classifier sees text: disguises undone (letters spaced
 * out, base64) and contact details spelt out. The phrases are matched again only when undoing
 * disguises changed the words (`streamed`: the words the stream was checked as).
 */
function wholeReplyBlock(reply: string, streamed: readonly string[]): OutputBlock | undefined {
  const { joined } = normalizeText(reply)
  if (SPELT_CONTACT.test(joined)) return { category: 'personal_info', severity: 'high' }
  if (joined === streamed.join(' ')) return undefined
  const scanner = new PhraseScanner()
  for (const word of joined.split(' ')) {
    const block = scanner.feed(word, 0)
    if (block) return block
  }
  return undefined
}
