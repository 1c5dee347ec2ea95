// The client library's handling of each error code of the contract, `replace`, duplicate events,
// close 1012 mid-reply and the `auth` frame, against a scripted WebSocket server (a real `ws`
// server on a real port) that answers each frame as the test says: the real gateway cannot be
// made to fail with every code on demand.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { WebSocketServer, type WebSocket } from 'ws'
import { ERROR_POLICY, GatewayClient, type Turn } from '../client/index.js'

interface TurnFrame { type: 'turn'; clientTurnId: string; message: string; sessionId?: string }
interface Script {
  url: string
  /** Every frame received, with the index of the connection it came on. */
  frames: Array<{ connection: number; frame: any }>
  /** The access_token of each connection. */
  tokens: string[]
  onFrame(frame: any, socket: WebSocket, connection: number): void
}

async function scriptedServer(t: Test, onFrame: Script['onFrame']): Promise<Script> {
  const http = createServer()
  const wss = new WebSocketServer({ server: http, path: '/ws' })
  const script: Script = { url: '', frames: [], tokens: [], onFrame }
  wss.on('connection', (socket, request) => {
    const connection = script.tokens.length
    script.tokens.push(new URL(request.url!, 'http://x').searchParams.get('access_token') ?? '')
    socket.on('message', (raw) => {
      const frame = JSON.parse(raw.toString())
      script.frames.push({ connection, frame })
      script.onFrame(frame, socket, connection)
    })
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => {
    for (const client of wss.clients) client.terminate()
    wss.close()
    http.close(() => resolve())
  }))
  script.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  return script
}

const send = (socket: WebSocket, turnId: string | null, type: string, seq: number | null, data: object) =>
  socket.send(JSON.stringify({ type, id: seq === null ? null : `${turnId}:${seq}`, turnId, data }))

const metadata = (turnId: string) => ({ turnId, sessionId: `s-${turnId}`, animalId: 'lion', animalName: 'Leo', model: 'scripted', createdAt: new Date().toISOString() })
const sendMetadata = (socket: WebSocket, turnId: string) => send(socket, turnId, 'metadata', 0, metadata(turnId))

/** A whole turn: metadata, one message per word, complete, storage (from seq `from`). */
function streamTurn(socket: WebSocket, turnId: string, reply: string[], from = 0) {
  const events: Array<[string, object]> = [
    ['metadata', metadata(turnId)],
    ...reply.map((delta, index): [string, object] => ['message', { delta, index }]),
    ['complete', { reply: reply.join(''), usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, latencyMs: 1, finishReason: 'stop' }],
    ['storage', { stored: true, turnId, sessionId: `s-${turnId}` }],
  ]
  events.slice(from).forEach(([type, data], i) => send(socket, turnId, type, from + i, data))
}

const fakeJwt = (claims: object) => [{ alg: 'HS256' }, claims].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.') + '.sig'
const fast = { backoff: { baseMs: 10, maxMs: 50 }, retryBackoff: { baseMs: 10, maxMs: 50 } }
const turnFrames = (script: Script) => script.frames.filter((f) => f.frame.type === 'turn').map((f) => f.frame as TurnFrame)

function clientFor(t: Test, script: Script, getToken: () => string = () => 'token') {
  const client = new GatewayClient({ url: script.url, getToken, ...fast })
  t.teardown(() => client.close())
  return client
}

t.test('every error code of the contract has a policy', async (t) => {
  const contract = ['bad_request', 'unauthorized', 'token_expired', 'not_found', 'rate_limited', 'too_many_turns', 'cancelled',
    'upstream_failed', 'upstream_rate_limited', 'storage_failed', 'storage_unavailable', 'shutting_down', 'interrupted',
    'turn_unavailable', 'hub_unavailable']
  for (const code of contract) t.ok(Object.hasOwn(ERROR_POLICY, code), code)
})

t.test('a turn frame refused for a passing reason is sent again with the same clientTurnId', async (t) => {
  for (const code of ['rate_limited', 'too_many_turns', 'storage_unavailable', 'shutting_down', 'upstream_rate_limited', 'turn_unavailable']) {
    const script = await scriptedServer(t, (frame, socket) => {
      if (frame.type !== 'turn') return
      if (turnFrames(script).length === 1) send(socket, frame.clientTurnId, 'error', null, { code, message: 'not now', retryable: true })
      else streamTurn(socket, 'T1', ['Hello ', 'there'])
    })
    const turn = await clientFor(t, script).startTurn({ animalId: 'lion', message: 'hi' }).done
    t.equal(turn.state, 'complete', `${code}: completes`)
    t.equal(turn.text, 'Hello there')
    const keys = turnFrames(script).map((f) => f.clientTurnId)
    t.equal(keys.length, 2, `${code}: sent twice`)
    t.equal(keys[0], keys[1], `${code}: with the same key`)
  }
})

t.test('a request the server refuses for good fails at once', async (t) => {
  for (const code of ['bad_request', 'not_found']) {
    const script = await scriptedServer(t, (frame, socket) => {
      if (frame.type === 'turn') send(socket, frame.clientTurnId, 'error', null, { code, message: 'animal \'unicorn\' not found', retryable: false })
    })
    const turn = await clientFor(t, script).startTurn({ animalId: 'unicorn', message: 'hi' }).done
    t.equal(turn.state, 'failed', code)
    t.equal(turn.error?.code, code)
    t.equal(turnFrames(script).length, 1, `${code}: sent once`)
  }
})

t.test('token_expired and unauthorized: a fresh token, a new socket, the same turn sent again', async (t) => {
  for (const code of ['token_expired', 'unauthorized']) {
    let issued = 0
    const script = await scriptedServer(t, (frame, socket, connection) => {
      if (frame.type !== 'turn') return
      if (connection === 0) send(socket, frame.clientTurnId, 'error', null, { code, message: 'The token expired', retryable: false })
      else streamTurn(socket, 'T1', ['ok'])
    })
    const turn = await clientFor(t, script, () => `token-${++issued}`).startTurn({ animalId: 'lion', message: 'hi' }).done
    t.equal(turn.state, 'complete', code)
    t.same(script.tokens, ['token-1', 'token-2'], `${code}: reconnected with a new token`)
    const keys = turnFrames(script).map((f) => f.clientTurnId)
    t.equal(keys[0], keys[1], `${code}: the same key on the new socket`)
  }
})

t.test('a generation that fails mid-reply is asked again under a new key; the half reply is cleared', async (t) => {
  for (const code of ['upstream_failed', 'interrupted', 'shutting_down', 'upstream_rate_limited']) {
    const script = await scriptedServer(t, (frame, socket) => {
      if (frame.type !== 'turn') return
      if (turnFrames(script).length === 1) {
        sendMetadata(socket, 'T1')
        send(socket, 'T1', 'message', 1, { delta: 'Half a ', index: 0 })
        send(socket, 'T1', 'error', 2, { code, message: 'failed', retryable: true })
      } else streamTurn(socket, 'T2', ['A whole ', 'reply'])
    })
    const client = clientFor(t, script)
    const turn = client.startTurn({ animalId: 'lion', message: 'hi' })
    const texts: string[] = []
    turn.on('text', (text) => texts.push(text))
    await turn.done
    t.equal(turn.state, 'complete', code)
    t.equal(turn.text, 'A whole reply', `${code}: only the second reply`)
    t.same(texts, ['Half a ', '', 'A whole ', 'A whole reply'], `${code}: the half reply was cleared`)
    const keys = turnFrames(script).map((f) => f.clientTurnId)
    t.not(keys[0], keys[1], `${code}: a new key for a new generation`)
  }
})

t.test('retries are bounded', async (t) => {
  const script = await scriptedServer(t, (frame, socket) => {
    if (frame.type === 'turn') send(socket, frame.clientTurnId, 'error', null, { code: 'rate_limited', message: 'slow down', retryable: true })
  })
  const turn = await clientFor(t, script).startTurn({ animalId: 'lion', message: 'hi' }).done
  t.equal(turn.state, 'failed')
  t.equal(turn.error?.code, 'rate_limited')
  t.equal(turnFrames(script).length, 4, 'the first try and 3 retries')
})

t.test('storage_failed: the reply stays, marked unsaved, and the model is not asked again', async (t) => {
  const script = await scriptedServer(t, (frame, socket) => {
    if (frame.type !== 'turn') return
    sendMetadata(socket, 'T1')
    send(socket, 'T1', 'message', 1, { delta: 'Roar!', index: 0 })
    send(socket, 'T1', 'complete', 2, { reply: 'Roar!' })
    send(socket, 'T1', 'error', 3, { code: 'storage_failed', message: 'not saved', retryable: true })
  })
  const turn = await clientFor(t, script).startTurn({ animalId: 'lion', message: 'hi' }).done
  t.equal(turn.state, 'complete')
  t.equal(turn.saved, false)
  t.equal(turn.text, 'Roar!')
  t.equal(turnFrames(script).length, 1)
})

t.test('cancel: the cancel frame names the turn; the cancelled event ends it', async (t) => {
  const script = await scriptedServer(t, (frame, socket) => {
    if (frame.type === 'turn') {
      sendMetadata(socket, 'T1')
      send(socket, 'T1', 'message', 1, { delta: 'One ', index: 0 })
    }
    if (frame.type === 'cancel') send(socket, 'T1', 'error', 2, { code: 'cancelled', message: 'The turn was cancelled', retryable: false })
  })
  const turn = clientFor(t, script).startTurn({ animalId: 'lion', message: 'count' })
  await new Promise((resolve) => turn.once('delta', resolve))
  turn.cancel()
  await turn.done
  t.equal(turn.state, 'cancelled')
  t.match(script.frames.map((f) => f.frame), [{ type: 'turn' }, { type: 'cancel', turnId: 'T1' }])
})

t.test('replace swaps the shown text for the safe one, even when complete repeats the old', async (t) => {
  const script = await scriptedServer(t, (frame, socket) => {
    if (frame.type !== 'turn') return
    sendMetadata(socket, 'T1')
    send(socket, 'T1', 'message', 1, { delta: 'Something not for children', index: 0 })
    send(socket, 'T1', 'replace', 2, { reply: 'Let\'s talk about my mane!', reason: 'violence' })
    send(socket, 'T1', 'complete', 3, { reply: 'Something not for children' })
    send(socket, 'T1', 'storage', 4, { stored: true })
  })
  const turn = clientFor(t, script).startTurn({ animalId: 'lion', message: 'hi' })
  const replaced: unknown[] = []
  turn.on('replace', (data) => replaced.push(data))
  await turn.done
  t.equal(turn.text, 'Let\'s talk about my mane!')
  t.match(replaced, [{ reason: 'violence' }])
})

t.test('an event seen twice (a replay) is taken once', async (t) => {
  const script = await scriptedServer(t, (frame, socket) => {
    if (frame.type !== 'turn') return
    streamTurn(socket, 'T1', ['a', 'b'], 0)
    streamTurn(socket, 'T1', ['a', 'b'], 0) // the whole turn again, as a retried clientTurnId replays it
  })
  const turn = clientFor(t, script).startTurn({ animalId: 'lion', message: 'hi' })
  const deltas: string[] = []
  turn.on('delta', (delta) => deltas.push(delta))
  await turn.done
  t.same(deltas, ['a', 'b'])
})

t.test('close 1012 mid-reply: a new socket resumes from the last event id', async (t) => {
  const script = await scriptedServer(t, (frame, socket, connection) => {
    if (frame.type === 'turn' && connection === 0) {
      sendMetadata(socket, 'T1')
      send(socket, 'T1', 'message', 1, { delta: 'Before ', index: 0 })
      socket.close(1012, 'restarting')
    }
    if (frame.type === 'resume') {
      send(socket, 'T1', 'message', 2, { delta: 'after.', index: 1 })
      send(socket, 'T1', 'complete', 3, { reply: 'Before after.' })
      send(socket, 'T1', 'storage', 4, { stored: true })
    }
  })
  const client = clientFor(t, script)
  const codes: number[] = []
  client.on('disconnect', ({ code }) => codes.push(code))
  const turn = await client.startTurn({ animalId: 'lion', message: 'hi' }).done
  t.equal(turn.text, 'Before after.')
  t.same(codes, [1012])
  t.match(script.frames.map((f) => f.frame), [{ type: 'turn' }, { type: 'resume', turnId: 'T1', lastEventId: 'T1:1' }])
  t.equal(turnFrames(script).length, 1, 'the turn itself was not sent again')
})

t.test('hub_unavailable mid-reply (Redis away): the turn is resumed from the last event, not asked again', async (t) => {
  let resumes = 0
  const script = await scriptedServer(t, (frame, socket) => {
    if (frame.type === 'turn') {
      sendMetadata(socket, 'T1')
      send(socket, 'T1', 'message', 1, { delta: 'Before ', index: 0 })
      // As the gateway sends it: the id of the last event the follower got.
      send(socket, 'T1', 'error', 1, { code: 'hub_unavailable', message: 'resume it in a moment', retryable: true })
    }
    if (frame.type === 'resume' && resumes++ === 0) {
      socket.send(JSON.stringify({ type: 'error', id: null, turnId: 'T1', data: { code: 'hub_unavailable', message: 'still away', retryable: true } }))
    } else if (frame.type === 'resume') {
      send(socket, 'T1', 'message', 2, { delta: 'after.', index: 1 })
      send(socket, 'T1', 'complete', 3, { reply: 'Before after.' })
      send(socket, 'T1', 'storage', 4, { stored: true })
    }
  })
  const client = clientFor(t, script)
  const drops: number[] = []
  client.on('disconnect', ({ code }) => drops.push(code))
  const turn = await client.startTurn({ animalId: 'lion', message: 'hi' }).done
  t.same(drops, [], 'on the same socket, at once (not after the stall timeout)')
  t.equal(turn.text, 'Before after.', 'the text shown before is kept')
  t.equal(turn.state, 'complete')
  t.match(script.frames.map((f) => f.frame), [{ type: 'turn' }, { type: 'resume', turnId: 'T1', lastEventId: 'T1:1' }, { type: 'resume', turnId: 'T1', lastEventId: 'T1:1' }])
  t.equal(turnFrames(script).length, 1, 'the turn itself was not sent again')
})

t.test('a message sent before the socket opens is queued and sent once', async (t) => {
  const script = await scriptedServer(t, (frame, socket) => {
    if (frame.type === 'turn') streamTurn(socket, 'T1', ['hi'])
  })
  const client = clientFor(t, script)
  const turn: Turn = client.startTurn({ animalId: 'lion', message: 'hello' })
  t.equal(turn.state, 'queued')
  await turn.done
  t.equal(turnFrames(script).length, 1)
})

t.test('the token is rotated on the open socket with an auth frame before it expires', async (t) => {
  const exp = Math.floor(Date.now() / 1000) + 4
  const tokens = [fakeJwt({ sub: 'kiosk', exp }), fakeJwt({ sub: 'kiosk', exp: exp + 3600 })]
  let calls = 0
  const script = await scriptedServer(t, (frame, socket) => {
    if (frame.type === 'auth') send(socket, null, 'auth', null, { sub: 'kiosk', role: 'user', exp: exp + 3600 })
    if (frame.type === 'turn') streamTurn(socket, 'T1', ['ok'])
  })
  const client = clientFor(t, script, () => tokens[Math.min(calls++, 1)])
  await client.startTurn({ animalId: 'lion', message: 'hi' }).done
  const acknowledged = await new Promise<{ expiresAt?: number }>((resolve) => client.once('auth', resolve))
  t.equal(acknowledged.expiresAt, (exp + 3600) * 1000)
  t.match(script.frames.map((f) => f.frame), [{ type: 'turn' }, { type: 'auth', token: tokens[1] }])
  t.equal(script.tokens.length, 1, 'on the same socket: no reconnect')
})

t.test('a server that does not know the auth frame gets the new token on the next connection', async (t) => {
  const exp = Math.floor(Date.now() / 1000) + 4
  const tokens = [fakeJwt({ sub: 'kiosk', exp }), fakeJwt({ sub: 'kiosk', exp: exp + 3600 })]
  let calls = 0
  const script = await scriptedServer(t, (frame, socket) => {
    if (frame.type === 'auth') {
      send(socket, null, 'error', null, { code: 'bad_request', message: 'type must be one of turn, cancel, resume', retryable: false })
      setTimeout(() => socket.close(4401, 'token expired'), 50) // as the old token runs out
    }
  })
  const client = clientFor(t, script, () => tokens[Math.min(calls++, 1)])
  client.connect()
  await new Promise<void>((resolve) => { const timer = setInterval(() => { if (script.tokens.length === 2) { clearInterval(timer); resolve() } }, 20) })
  t.same(script.tokens, tokens, 'reconnected with the new token')
})
