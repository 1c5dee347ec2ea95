// The app factory: one Fastify instance with every plugin and route. Tests build it directly;
// src/server.ts builds it and listens.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import type { Config } from './config.ts'
import { parseQuery, redactToken } from './core/log.ts'
import { REQUEST_ID_HEADER, requestIdOf } from './request-id.ts'
import { validatorCompiler } from './validation.ts'
import { MAX_ID_LENGTH } from '../schemas/common.ts'
import { OPENAI_PREFIX } from '../schemas/openai.ts'
import analyticsPlugin from '../plugins/analytics.ts'
import authPlugin from '../plugins/auth.ts'
import configPlugin from '../plugins/config.ts'
import conversationPlugin from '../plugins/conversation.ts'
import docsPlugin from '../plugins/docs.ts'
import errorsPlugin, { clientErrorHandler, frameworkErrors } from '../plugins/errors.ts'
import llmPlugin from '../plugins/llm.ts'
import metricsPlugin from '../plugins/metrics.ts'
import rateLimitPlugin from '../plugins/rate-limit.ts'
import redisPlugin from '../plugins/redis.ts'
import safetyAlertsPlugin from '../plugins/safety-alerts.ts'
import securityPlugin from '../plugins/security.ts'
import shutdownPlugin from '../plugins/shutdown.ts'
import storagePlugin from '../plugins/storage.ts'
import streamingPlugin from '../plugins/streaming.ts'
import telemetryPlugin from '../plugins/telemetry.ts'
import analyticsRoutes from './routes/analytics.ts'
import animalRoutes from './routes/animals.ts'
import familyRoutes from './routes/families.ts'
import healthRoutes from './routes/health.ts'
import historyRoutes from './routes/history.ts'
import openAiRoutes from './routes/openai.ts'
import safetyRoutes from './routes/safety.ts'
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
    // A client's X-Request-Id only when it is short and plain (src/request-id.ts).
    genReqId: requestIdOf,
    // A path segment longer than any id is a 414 (schemas/common.ts).
    routerOptions: { maxParamLength: MAX_ID_LENGTH, querystringParser: parseQuery },
    // Errors raised before routing, in the service's shape too.
    frameworkErrors,
    clientErrorHandler,
    // One access-log line per request instead of Fastify's two (see AccessLog).
    logController: new AccessLog(),
    // While closing, requests get the drain's shutting_down answer (plugins/shutdown.ts), not Fastify's bare 503.
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>()
  // TypeBox validates requests: bodies exactly as sent, query strings and params from their plain spelling.
  app.setValidatorCompiler(validatorCompiler)
  // Every body is JSON: a text/plain one is a 415 that says so, not a confusing "body must be object".
  app.removeContentTypeParser('text/plain')
  app.addHook('onRequest', async (request, reply) => { reply.header(REQUEST_ID_HEADER, request.id) })

  await app.register(configPlugin, { config })
  await app.register(errorsPlugin)
  // Its onRequest hook refuses requests while draining, before any other hook (rate limits, auth).
  await app.register(shutdownPlugin)
  await app.register(redisPlugin)
  await app.register(securityPlugin)
  // Before any route, so the per-IP limit covers them all (docs and metrics included).
  await app.register(rateLimitPlugin)
  await app.register(docsPlugin)
  await app.register(metricsPlugin)
  await app.register(storagePlugin)
  await app.register(llmPlugin)
  await app.register(streamingPlugin)
  await app.register(authPlugin)
  await app.register(safetyAlertsPlugin)
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
    await authenticated.register(safetyRoutes)
    await authenticated.register(familyRoutes)
    await authenticated.register(summarizeRoutes)
    await authenticated.register(wsRoutes)
    await authenticated.register(analyticsRoutes)
    // The OpenAI-compatible facade: its own error handler answers in OpenAI's shape, the 401 included.
    await authenticated.register(openAiRoutes, { prefix: OPENAI_PREFIX })
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
