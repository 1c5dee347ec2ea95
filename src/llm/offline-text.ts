// Small text tools for the offline responder: words, a crude stemmer, topic synonyms and a
// stable hash. Crude on purpose: both the question and the facts go through the same steps,
// so over-stemming ("water" and "wat") still matches like with like.

const STOPWORDS = new Set(
  ('a an the and or but if of to in on at by for with about as is are was were be been am do does did ' +
    'have has had i me my you your we us our they them their it its this that these those there here ' +
    'what which who whom how why when can could would should will shall may might must so too very ' +
    'just really much many any some all not no yes please tell know like got get go going up down out ' +
    'oh hey hi hello okay ok well more most also than then from into over where ' +
    'help make made use used need want thing lot way each every other only even back look let give take put come ' +
    'favourite favorite best love')
    .split(' '),
)

/** Lower-case words, apostrophes and possessives removed. */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/['’]s\b/g, '')
    .replace(/['’]/g, '')
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
}

/** Strips common English endings: plurals, -ing, -ed, -er, -est. */
export function stem(word: string): string {
  let w = word
  if (w.length > 4 && w.endsWith('ies')) return `${w.slice(0, -3)}y`
  if (w.length > 4 && /(ches|shes|xes|sses)$/.test(w)) w = w.slice(0, -2)
  else if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') && !w.endsWith('us')) w = w.slice(0, -1)
  if (w.length > 5 && w.endsWith('ing')) w = w.slice(0, -3)
  else if (w.length > 4 && w.endsWith('ed')) w = w.slice(0, -2)
  else if (w.length > 6 && w.endsWith('est')) w = w.slice(0, -3)
  else if (w.length > 5 && w.endsWith('er')) w = w.slice(0, -2)
  // "swimm" -> "swim", "bigg" -> "big"
  if (/([^aeiouls])\1$/.test(w)) w = w.slice(0, -1)
  return w
}

/** Content words of a text, stemmed, without stopwords. */
export function keywords(text: string): string[] {
  return words(text)
    .filter((word) => !STOPWORDS.has(word))
    .map(stem)
}

/** Every word of a text, stemmed: question words like "where" still hint at a topic. */
export function allStems(text: string): string[] {
  return words(text).map(stem)
}

// Each topic lists words that mean roughly the same thing to a child asking an animal.
const TOPIC_WORDS: Record<string, string[]> = {
  food: ['eat', 'ate', 'food', 'hungry', 'diet', 'snack', 'meal', 'dinner', 'lunch', 'breakfast', 'hunt', 'prey', 'feed', 'gobble', 'swallow', 'favorite', 'favourite', 'yummy'],
  sleep: ['sleep', 'slept', 'asleep', 'nap', 'bed', 'night', 'tired', 'rest', 'dream', 'bedtime'],
  babies: ['baby', 'cub', 'chick', 'calf', 'calves', 'young', 'pup', 'egg', 'born', 'mother', 'mom', 'mum', 'dad', 'father', 'parent', 'kid'],
  home: ['home', 'live', 'habitat', 'house', 'wild', 'nest', 'den', 'country', 'forest', 'savanna', 'grassland', 'island', 'ocean', 'mountain', 'where'],
  speed: ['fast', 'speed', 'quick', 'run', 'swim', 'race', 'dive', 'gallop', 'sprint', 'zoom', 'slow'],
  movement: ['move', 'walk', 'waddle', 'climb', 'jump', 'slide', 'fly', 'float', 'tree', 'flipper'],
  size: ['big', 'tall', 'heavy', 'weight', 'weigh', 'size', 'large', 'small', 'tiny', 'long', 'height', 'huge', 'kilogram', 'metre', 'meter'],
  sounds: ['sound', 'roar', 'noise', 'talk', 'say', 'voice', 'loud', 'sing', 'squeak', 'trumpet', 'hear', 'speak', 'growl', 'hum', 'rumble', 'twitter'],
  body: ['body', 'fur', 'feather', 'skin', 'tail', 'teeth', 'tooth', 'tongue', 'paw', 'foot', 'feet', 'nose', 'trunk', 'neck', 'eye', 'ear', 'mane', 'beak', 'tusk', 'colour', 'color', 'pattern', 'spot', 'stripe', 'bone', 'whisker'],
  family: ['friend', 'family', 'group', 'herd', 'pride', 'colony', 'raft', 'together', 'play', 'alone', 'team'],
  water: ['water', 'drink', 'thirsty', 'bath', 'wet', 'sea', 'seawater', 'river', 'pool', 'salt'],
  weather: ['cold', 'warm', 'hot', 'weather', 'winter', 'summer', 'snow', 'sun', 'ice', 'cool'],
  tools: ['tool', 'rock', 'stone', 'pebble', 'gift', 'crack'],
}

const TOPIC_OF = new Map<string, string[]>()
for (const [topic, list] of Object.entries(TOPIC_WORDS)) {
  for (const word of list) {
    const key = stem(word)
    TOPIC_OF.set(key, [...(TOPIC_OF.get(key) ?? []), topic])
  }
}

/** The topics a set of stemmed keywords touch ("hungry" -> food). */
export function topicsOf(stems: Iterable<string>): Set<string> {
  const topics = new Set<string>()
  for (const s of stems) for (const topic of TOPIC_OF.get(s) ?? []) topics.add(topic)
  return topics
}

/** FNV-1a: a stable 32-bit hash, so the same question always gets the same phrasing. */
export function hash(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** Picks one item by hash of a key; the salt makes independent choices from the same key. */
export function pick<T>(items: readonly T[], key: string, salt: string): T {
  return items[hash(`${salt}|${key}`) % items.length]
}
