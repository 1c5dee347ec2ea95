// The app factory: one Fastify instance with every plugin and route. Tests build it directly;
// src/server.ts builds it and listens.
import cors from '@fastify/cors'
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import type { Config } from './config.ts'
import { redactToken } from './core/log.ts'
import analyticsPlugin from '../plugins/analytics.ts'
import authPlugin from '../plugins/auth.ts'
import configPlugin from '../plugins/config.ts'
import conversationPlugin from '../plugins/conversation.ts'
import docsPlugin from '../plugins/docs.ts'
import errorsPlugin from '../plugins/errors.ts'
import llmPlugin from '../plugins/llm.ts'
import metricsPlugin from '../plugins/metrics.ts'
import rateLimitPlugin from '../plugins/rate-limit.ts'
import redisPlugin from '../plugins/redis.ts'
import storagePlugin from '../plugins/storage.ts'
import streamingPlugin from '../plugins/streaming.ts'
import telemetryPlugin from '../plugins/telemetry.ts'
import analyticsRoutes from './routes/analytics.ts'
import animalRoutes from './routes/animals.ts'
import familyRoutes from './routes/families.ts'
import healthRoutes from './routes/health.ts'
import historyRoutes from './routes/history.ts'
import openAiRoutes from './routes/openai.ts'
import summarizeRoutes from './routes/summarize.ts'
import turnRoutes from './routes/turns.ts'
import webAppRoutes from './routes/web-app.ts'
import wsRoutes from './routes/ws.ts'

export interface BuildOptions {
  logger?: FastifyServerOptions['logger']
  /** Where the app's own logger writes (default stdout); tests capture logs with it. */
  logStream?: NodeJS.WritableStream
}

export async function buildApp(config: Config, options: BuildOptions = {}) {
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config, options.logStream),
    bodyLimit: config.limits.bodyLimitBytes,
    trustProxy: config.trustProxy,
    // Clients retry with clientTurnId; request ids only need to be unique in the logs.
    requestIdHeader: 'x-request-id',
    // One access-log line per request instead of Fastify's two (see AccessLog).
    logController: new AccessLog(),
  }).withTypeProvider<TypeBoxTypeProvider>()
  // TypeBox validates requests: bodies exactly as sent (no type coercion, no silently dropped
  // fields); query strings and params are converted from strings.
  app.setValidatorCompiler(TypeBoxValidatorCompiler)

  await app.register(configPlugin, { config })
  await app.register(errorsPlugin)
  await app.register(redisPlugin)
  await app.register(cors, { origin: true })
  // Before any route, so the per-IP limit covers them all (docs and metrics included).
  await app.register(rateLimitPlugin)
  await app.register(docsPlugin)
  await app.register(metricsPlugin)
  await app.register(storagePlugin)
  await app.register(llmPlugin)
  await app.register(streamingPlugin)
  await app.register(authPlugin)
  await app.register(conversationPlugin)
  await app.register(analyticsPlugin)
  await app.register(telemetryPlugin)

  // Public routes: probes here; docs and metrics are registered by their plugins above.
  await app.register(healthRoutes)
  // Every other route needs a token: they live in one context whose onRequest hook authenticates,
  // so a route file cannot forget it. (The root rate-limit hook still runs first.)
  await app.register(async (authenticated) => {
    authenticated.addHook('onRequest', authenticated.authenticate)
    await authenticated.register(animalRoutes)
    await authenticated.register(turnRoutes)
    await authenticated.register(historyRoutes)
    await authenticated.register(familyRoutes)
    await authenticated.register(summarizeRoutes)
    await authenticated.register(wsRoutes)
    await authenticated.register(analyticsRoutes)
    // The OpenAI-compatible facade: its own error handler answers in OpenAI's shape, the 401 included.
    await authenticated.register(openAiRoutes, { prefix: '/v1' })
  })
  // Public static files (the kiosk, family and keeper pages, client/): outside the authenticated context.
  await app.register(webAppRoutes)
  return app
}

/**
 * Fastify logs each request twice ('incoming request', then 'request completed'); this writes
 * one line when the response is sent: method, url (access_token redacted), status, response
 * time, and the request id from the request's logger. Upgraded WebSocket requests never complete
 * here: src/routes/ws.ts logs them. Fastify's other log lines (errors, 404s) are unchanged.
 */
class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = { method: request.method, url: redactToken(request.url), statusCode: reply.statusCode, responseTime: reply.elapsedTime }
    if (error) reply.log.error({ ...line, err: error }, 'request errored')
    else reply.log.info(line, 'request completed')
  }
}

export type App = Awaited<ReturnType<typeof buildApp>>

function loggerOptions(config: Config, stream?: NodeJS.WritableStream): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    ...(stream ? { stream } : {}),
    serializers: {
      // Tokens passed as ?access_token= must never reach the logs.
      req: (req) => ({ method: req.method, url: redactToken(req.url), remoteAddress: req.ip }),
    },
  }
}
