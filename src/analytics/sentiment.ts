// The sentiment of a visitor's message, from the `sentiment` package (AFINN-165 word scores,
// with negation): a positive total is positive, a negative one negative, zero neutral.
import Sentiment from 'sentiment'
import type { SentimentLabel } from './counters.ts'

const analyzer = new Sentiment()

export function sentimentOf(text: string): SentimentLabel {
  const { score } = analyzer.analyze(text)
  return score > 0 ? 'positive' : score < 0 ? 'negative' : 'neutral'
}
