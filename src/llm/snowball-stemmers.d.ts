// snowball-stemmers ships no types: the part the offline lexicon uses.
declare module 'snowball-stemmers' {
  interface Stemmer {
    stem(word: string): string
  }
  const snowball: {
    newStemmer(algorithm: string): Stemmer
    algorithms(): string[]
  }
  export default snowball
}
