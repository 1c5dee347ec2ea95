// Text as a matcher should see it. Children misspell, and people trying to slip past a filter
// disguise words: fancy Unicode letters, look-alike letters from other scripts, zero-width
// characters, leetspeak, s p a c e d or d.o.t.t.e.d letters, stretched letters, base64.
// Everything here undoes such disguises; word lists go through the same folding, so like
// matches like. Shared by the safety layer and the offline responder (one module, not two).

export interface NormalizedText {
  /** Lower case, accents removed, disguises undone, punctuation kept as spaces. */
  readonly folded: string
  /** The folded words in order. */
  readonly words: readonly string[]
  /** `folded` with runs of single letters joined ("k i l l" -> "kill"), for phrase matching. */
  readonly joined: string
}

// Letters of other scripts that look like Latin ones (Cyrillic and Greek), as phishers use them.
const LOOK_ALIKES: Record<string, string> = {
  а: 'a', в: 'b', е: 'e', ё: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x',
  і: 'i', ј: 'j', ѕ: 's', ԁ: 'd', ɡ: 'g', ո: 'n', ս: 'u',
  α: 'a', β: 'b', ε: 'e', η: 'n', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x', ω: 'w',
}
// Digits and symbols standing for letters, only inside words that also have letters ("h4te",
// "$tupid"), so phone numbers and ages stay numbers.
const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '@': 'a', $: 's', '!': 'i', '|': 'l' }

const INVISIBLE = /[\p{Cf}\p{Cc}\u034f\u115f\u1160\u3164\uffa0]/gu
const MARKS = /\p{M}+/gu
const LEET_WORD = /[\p{L}0-9@$!|]*\p{L}[\p{L}0-9@$!|]*/gu
const STRETCHED = /(\p{L})\1{2,}/gu
const BASE64_TOKEN = /\b[A-Za-z0-9+/]{12,}={0,2}(?![A-Za-z0-9+/=])/g

const LINE_BREAKS = /[\t\n\v\f\r]/g
const PLAIN_ASCII = /^[\x20-\x7e]*$/
/** A plain word (no digits, symbols or letters three times over): folding only lowers its case. */
const PLAIN_WORD = /^(?:([a-zA-Z])(?!\1\1))+$/
const PLAIN_WORD_MAX = 256

/** Folds one word or phrase the way `normalizeText` folds a message (for word lists). */
export function foldText(text: string): string {
  // The regex recurses per letter: a run of millions (a reply without spaces) would overflow the stack.
  if (text.length <= PLAIN_WORD_MAX && PLAIN_WORD.test(text)) return text.toLowerCase()
  // Line breaks and tabs separate words; only the other control characters are invisible.
  let out = text.replace(LINE_BREAKS, ' ')
  // Printable ASCII (most text, and every word of a model's English reply) has nothing to decompose.
  if (PLAIN_ASCII.test(out)) out = out.toLowerCase()
  else {
    out = out.normalize('NFKC').replace(INVISIBLE, '').toLowerCase()
    out = out.normalize('NFD').replace(MARKS, '').normalize('NFC')
    out = out.replace(/[^\x00-\x7f]/g, (ch) => LOOK_ALIKES[ch] ?? ch)
  }
  out = out.replace(LEET_WORD, leetToLetters)
  out = out.replace(STRETCHED, '$1')
  out = out.replace(/ß/g, 'ss').replace(/['’`]/g, '')
  return out.replace(/[^\p{L}\p{N}]+/gu, ' ').trim()
}

/** "h4te" -> "hate", "k!ll" -> "kill"; but "Hello!" stays "hello!": a ! or | that ends a word is punctuation. */
function leetToLetters(word: string): string {
  const [, body, tail] = /^(.*?)([!|]*)$/s.exec(word)!
  return /[0-9@$!|]/.test(body) ? body.replace(/[0-9@$!|]/g, (ch) => LEET[ch] ?? ch) + tail : word
}

export function normalizeText(text: string): NormalizedText {
  const folded = foldText(withDecodedBase64(text))
  const words = folded === '' ? [] : folded.split(' ')
  return { folded, words, joined: joinSingleLetters(words) }
}

/** "k i l l me" -> "kill me": three or more single letters in a row are one word. */
function joinSingleLetters(words: readonly string[]): string {
  const out: string[] = []
  let run = ''
  for (const word of words) {
    if (word.length === 1 && /\p{L}/u.test(word)) {
      run += word
      continue
    }
    if (run) out.push(...(run.length >= 3 ? [run] : run.split('')))
    run = ''
    out.push(word)
  }
  if (run) out.push(...(run.length >= 3 ? [run] : run.split('')))
  return out.join(' ')
}

/** Appends the text of any base64 token that decodes to readable text, so it is checked too. */
function withDecodedBase64(text: string): string {
  const decoded: string[] = []
  for (const token of text.match(BASE64_TOKEN) ?? []) {
    // A plain long word: no digit or base64 sign, and not mixed case (two tests: one regex for both backtracks quadratically).
    if (!/[0-9+/=]/.test(token) && !(/[A-Z]/.test(token) && /[a-z]/.test(token))) continue
    const plain = Buffer.from(token, 'base64').toString('utf8')
    if (plain.length >= 4 && /^[\p{L}\p{N}\p{P}\p{Zs}]+$/u.test(plain)) decoded.push(plain)
  }
  return decoded.length ? `${text} ${decoded.join(' ')}` : text
}
