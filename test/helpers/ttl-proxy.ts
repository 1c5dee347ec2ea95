// A DynamoDB endpoint that has the TTL API, for tests: it forwards every request to dynalite
// unchanged, except UpdateTimeToLive / DescribeTimeToLive (which dynalite lacks). Those it answers
// itself, like DynamoDB does, and records, so a test can see what the app asked to enable.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface TtlProxy {
  url: string
  /** Every UpdateTimeToLive request received, in order. */
  updates: Array<{ TableName: string; TimeToLiveSpecification: { AttributeName: string; Enabled: boolean } }>
  close(): Promise<void>
}

const HOP_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive'])

export async function startTtlProxy(dynamoEndpoint: string): Promise<TtlProxy> {
  const updates: TtlProxy['updates'] = []
  const enabled = new Map<string, string>()
  const server = createServer(async (req, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    const answer = (data: unknown) => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(data))
    }
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1]
    if (operation === 'UpdateTimeToLive') {
      const input = JSON.parse(body)
      updates.push(input)
      if (input.TimeToLiveSpecification.Enabled) enabled.set(input.TableName, input.TimeToLiveSpecification.AttributeName)
      return answer({ TimeToLiveSpecification: input.TimeToLiveSpecification })
    }
    if (operation === 'DescribeTimeToLive') {
      const attribute = enabled.get(JSON.parse(body).TableName)
      return answer({ TimeToLiveDescription: attribute ? { TimeToLiveStatus: 'ENABLED', AttributeName: attribute } : { TimeToLiveStatus: 'DISABLED' } })
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !HOP_HEADERS.has(name))) as Record<string, string>
    const upstream = await fetch(dynamoEndpoint + (req.url ?? '/'), { method: req.method, headers, body: req.method === 'GET' ? undefined : body })
    const responseHeaders = Object.fromEntries([...upstream.headers].filter(([name]) => !HOP_HEADERS.has(name) && name !== 'content-encoding'))
    res.writeHead(upstream.status, responseHeaders).end(Buffer.from(await upstream.arrayBuffer()))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    updates,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
}
