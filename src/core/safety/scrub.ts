// Personal details out of a message before it reaches the model, storage, summaries, logs,
// exports or webhooks: names, addresses, phone numbers, emails, schools, ages and usernames
// become the placeholders [name], [address], [phone], [email], [school], [age], [username].
// Regular expressions over the raw text (placeholders must land where the details were), in an
// order where the most specific go first (an email before a handle, a phone before an age).
// Words the rules need are data (data/personal-details.json). See docs/safety.md for why these
// rules and not a general PII library.
import details from './data/personal-details.json' with { type: 'json' }

export const PERSONAL_DETAIL_KINDS = ['email', 'username', 'phone', 'address', 'school', 'age', 'name'] as const
export type PersonalDetailKind = (typeof PERSONAL_DETAIL_KINDS)[number]

export interface ScrubResult {
  /** The text with every detail found replaced by its placeholder. */
  text: string
  /** Which kinds were found (in PERSONAL_DETAIL_KINDS order). */
  found: PersonalDetailKind[]
}

interface Rule {
  kind: PersonalDetailKind
  /** Named groups: `v` the detail (replaced), `p` a prefix kept as it is. */
  pattern: RegExp
  /** Whether the `v` found is really a detail of this kind. */
  accept?: (value: string) => boolean
}

const any = (words: readonly string[]) => words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')
const rule = (kind: PersonalDetailKind, source: string, accept?: Rule['accept']): Rule => ({ kind, pattern: new RegExp(source, 'gu'), accept })

const firstNames = new Set(details.firstNames)
const notNames = new Set(details.notNames)
const numberWords = any(Object.values(details.numberWords).flat())
const WORD = "\\p{L}[\\p{L}'’-]*"
const CAP = "\\p{Lu}[\\p{L}'’-]*"
/** A word boundary that knows accented letters (\\b does not: "l'école"). */
const B = '(?<![\\p{L}\\d])'
const END = "(?=\\s*(?:$|[.,!?;:)]|(?i:and|und|et|y|years|now|today|soon)\\b))"

/** A name after "I'm" / "soy" / "ich bin" / "je suis": capitalised or a known first name, not "I'm Leo's fan". */
function isName(value: string): boolean {
  const first = value.split(/\s+/)[0]
  const lower = first.toLowerCase()
  if (notNames.has(lower) || /['’]s$/u.test(first)) return false // "I'm Leo's biggest fan"
  return firstNames.has(lower.normalize('NFD').replace(/\p{M}/gu, '')) || /^\p{Lu}/u.test(first)
}

/** After "my name is": anything but a word that plainly is not a name ("my name is not ..."). */
const namedAfterIntro = (value: string) => !notNames.has(value.split(/\s+/)[0].toLowerCase())

const RULES: Rule[] = [
  rule('email', '(?<v>[\\p{L}\\d._%+-]+@[\\p{L}\\d.-]+\\.\\p{L}{2,})'),
  rule('email', '(?<v>\\b[\\p{L}\\d._-]+(?:\\s+(?i:dot)\\s+[\\p{L}\\d]+)*\\s+(?i:at)\\s+[\\p{L}\\d-]+(?:\\s+(?i:dot)\\s+\\p{L}{2,})+\\b)'),
  rule('username', "(?<v>(?<![\\p{L}\\d.])@[\\p{L}\\d_.]{2,30})"),
  rule('username', `(?<p>(?i:\\b(?:my|mi|mein|mon)\\s+(?:(?:${any(details.platforms)})\\s+)?(?:user\\s?name|username|gamertag|handle|usuario|nombre de usuario|benutzername|pseudo|identifiant)\\s+(?:(?:is|es|ist|est|c'est)\\s+|:\\s*)?))(?<v>(?!(?i:is|es|ist|est|c'est)\\b)[\\p{L}\\d_.-]{3,30})`),
  rule('username', `(?<p>(?i:\\bmy\\s+(?:${any(details.platforms)})\\s+(?:name|id|tag)\\s+(?:is\\s+)?))(?<v>[\\p{L}\\d_.-]{3,30})`),
  rule('phone', '(?<v>(?<![\\p{L}\\d])\\+?\\(?\\d[\\d\\s().-]{5,}\\d(?![\\p{L}\\d]))', (v) => (v.match(/\d/g)?.length ?? 0) >= 7),
  // 12 Oak Street, 221b Baker Street (not "3 hours down the road")
  rule('address', "(?<v>\\b\\d{1,5}[a-zA-Z]?\\s+(?:(?!(?i:the|a|an|to|down|up|on|in|at|of|and|or|my|our|hours?|minutes?|miles?|times?|km)\\b)[\\p{L}'’-]+\\s+){1,3}(?i:street|st|road|rd|avenue|ave|lane|ln|drive|dr|way|close|court|ct|crescent|boulevard|blvd|place|terrace|gardens|grove)\\b\\.?)"),
  rule('address', `(?<p>(?i:\\b(?:live|living|lives)\\s+(?:on|at|in)\\s+))(?<v>(?:${WORD}\\s+){1,2}(?i:street|road|avenue|lane|drive|close|court|crescent|boulevard|place|terrace|gardens|grove)\\b)`),
  rule('address', `(?<v>(?i:\\b(?:calle|c/|avenida|avda\\.?|plaza|paseo|camino|carrera))\\s+(?:(?i:de|del|de la|de los)\\s+)?${WORD}(?:\\s+${CAP})?\\s*,?\\s*(?:(?i:n[º°o])\\.?\\s*)?\\d{1,4}\\b)`),
  rule('address', "(?<v>\\b[\\p{L}-]{2,}(?i:straße|strasse|str\\.|weg|gasse|platz|allee|ring|damm)\\s*\\d{1,4}[a-z]?\\b)"),
  rule('address', `(?<v>\\b\\d{1,4}(?:\\s*(?i:bis|ter))?,?\\s+(?i:rue|avenue|av\\.|boulevard|bd|place|chemin|allée|allee|impasse|route|quai)\\s+(?:(?i:de la|de|du|des|d['’])\\s*)?${WORD}(?:\\s+${CAP})?)`),
  rule('school', `(?<v>\\b(?:(?:St\\.?|Saint)\\s+)?(?:${CAP}\\s+){1,3}(?:(?:Primary|Elementary|Middle|High|Junior|Infant|Secondary|Grammar|Catholic|Community|Prep)\\s+)?(?:School|Academy|Elementary|Primary))\\b`),
  rule('school', `(?<p>(?i:\\b(?:go to|goes to|attend|attends)\\s+))(?<v>(?:${WORD}\\s+){1,3}(?i:school|academy|elementary|primary)\\b)`),
  rule('school', `(?<p>(?i:\\bmy school(?: is called| is|['’]s)\\s+))(?<v>${WORD}(?:\\s+${CAP}){0,3})`),
  rule('school', `(?<v>${B}(?i:(?:colegio|escuela|instituto|école|ecole|collège|lycée|lycee))\\s+(?:(?i:de|del|la|el|los|las|du|des|le|saint|sainte)\\s+)?${CAP}(?:[\\s-]+${CAP}){0,3})`),
  rule('school', "(?<v>\\b[\\p{L}]{2,}-?(?:Grundschule|Gesamtschule|Gymnasium|Realschule|Hauptschule|Schule)\\b)"),
  rule('school', `(?<v>\\b(?:Grundschule|Gymnasium|Realschule)\\s+${CAP}(?:\\s+${CAP}){0,2})`),
  rule('age', `(?<p>(?i:\\b(?:i am|i['’]m|im|i m|i['’]m turning|i turn|my age is|ich bin|bin)\\s+))(?<v>(?:\\d{1,2}|(?i:${numberWords}))(?:\\s*(?i:years?|yrs?|yo|jahre)(?:\\s+(?i:old|alt))?|\\s+(?i:and a half))?)${END}`),
  rule('age', `(?<p>(?i:\\btengo\\s+))(?<v>(?:\\d{1,2}|(?i:${numberWords}))\\s+(?i:años|anos))`),
  rule('age', `(?<p>(?i:\\bj['’ ]?ai\\s+))(?<v>(?:\\d{1,2}|(?i:${numberWords}))\\s+(?i:ans))`),
  rule('name', `(?<p>(?i:\\b(?:my name is|my name['’]s|my names|i['’]m called|im called|me llamo|mi nombre es|ich heiße|ich heisse|mein name ist|je m['’ ]?appelle|mon nom est|mon prénom est|moi c['’]est)\\s+))(?<v>${WORD}(?:\\s+${CAP})?)`, namedAfterIntro),
  rule('name', `(?<p>(?i:\\b(?:i am|i['’]m|im|call me|soy|ich bin|je suis)\\s+))(?<v>${WORD}(?:\\s+${CAP})?)`, isName),
]

/** Replaces every personal detail in `text` by its placeholder. */
export function scrubPersonalDetails(text: string): ScrubResult {
  const found = new Set<PersonalDetailKind>()
  let out = text
  for (const { kind, pattern, accept } of RULES) {
    pattern.lastIndex = 0
    out = out.replace(pattern, (...args) => {
      const groups = args.at(-1) as { p?: string; v: string }
      if (accept && !accept(groups.v)) return args[0] as string
      found.add(kind)
      return `${groups.p ?? ''}[${kind}]`
    })
  }
  return { text: out, found: PERSONAL_DETAIL_KINDS.filter((kind) => found.has(kind)) }
}
