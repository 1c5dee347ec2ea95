import fp from 'fastify-plugin'
import { AnalyticsReader } from '../src/analytics/reader.ts'
import { AnalyticsRecorder } from '../src/analytics/recorder.ts'
import { sentimentOf } from '../src/analytics/sentiment.ts'
import { understandQuestion } from '../src/llm/offline-understand.ts'

declare module 'fastify' {
  interface FastifyInstance {
    analytics: { recorder: AnalyticsRecorder; reader: AnalyticsReader }
  }
}

/**
 * Analytics: every stored turn is counted into its animal's day by the recorder (an engine
 * observer, off the stream's path); the reader answers GET /analytics/animals. Topics and
 * "could not answer" come from the offline responder's question understanding.
 */
export default fp(
  async (app) => {
    const recorder = new AnalyticsRecorder({ store: app.analyticsStore, understand: understandQuestion, sentiment: sentimentOf, log: app.log })
    app.engine.observeTurnEnds(recorder.observe)
    app.decorate('analytics', { recorder, reader: new AnalyticsReader(app.analyticsStore, app.storage) })
    // Registered after storage, so this runs before storage closes: no count is lost on shutdown.
    app.addHook('onClose', () => recorder.idle())
  },
  { name: 'analytics', dependencies: ['storage', 'conversation'] },
)
