// `TOKEN=... npm run ws -- lion "How loud is your roar?"`: one turn over the kiosk WebSocket,
// printing every event frame as it arrives (what a kiosk tablet sees). GATEWAY_WS_URL overrides
// ws://localhost:8080.
const [animalId, message] = process.argv.slice(2)
const token = process.env.TOKEN
if (!animalId || !message || !token) {
  console.error('usage: TOKEN=<jwt> npm run ws -- <animalId> "<message>"')
  process.exit(1)
}

const base = process.env.GATEWAY_WS_URL ?? `ws://localhost:${process.env.PORT ?? 8080}`
// Node's built-in WebSocket, like a browser's, cannot send headers: the token goes in the query.
const socket = new WebSocket(`${base}/ws?access_token=${encodeURIComponent(token)}`)
socket.addEventListener('open', () => socket.send(JSON.stringify({ type: 'turn', animalId, message })))
socket.addEventListener('message', (event) => {
  console.log(String(event.data))
  const { type } = JSON.parse(String(event.data)) as { type: string }
  if (type === 'storage' || type === 'error') socket.close()
})
socket.addEventListener('error', () => {
  console.error(`could not reach ${base}/ws (is the gateway running, and the token valid?)`)
  process.exitCode = 1
})
