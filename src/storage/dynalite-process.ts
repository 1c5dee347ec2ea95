// The embedded DynamoDB's own process: dynalite (HTTP parsing, LevelDB, its JSON work) runs here,
// off the gateway's event loop and on the other core. Started by embedded.ts with an IPC channel;
// argv[2] is the LevelDB path. It answers one message, `ready` or `failed`, and lives exactly as
// long as that channel: when the gateway closes it, or dies (even by SIGKILL), the channel ends
// and so does this process.
import { DataDirLockedError, listenDynalite } from './dynalite-server.ts'

export type DynaliteProcessMessage =
  | { type: 'ready'; endpoint: string }
  | { type: 'failed'; locked: boolean; message: string }

const send = (message: DynaliteProcessMessage) => process.send!(message)

// Ctrl-C reaches the whole process group: the gateway then drains its running turns and stores
// them, so this process must outlive that signal. It ends when the gateway lets go of it.
process.on('SIGINT', () => {})
process.on('SIGTERM', () => {})

const path = process.argv[2]
if (!path || !process.send) throw new Error('dynalite-process.ts is started by startEmbeddedDynamo (src/storage/embedded.ts)')

try {
  const server = await listenDynalite({ path })
  process.once('disconnect', () => {
    // A request still in flight when LevelDB closes makes dynalite throw ("Database is closed")
    // from inside its handler: the gateway has let go of its client by then, so nobody waits for it.
    process.on('uncaughtException', () => process.exit(0))
    server.close().then(() => process.exit(0), () => process.exit(1))
  })
  send({ type: 'ready', endpoint: server.endpoint })
} catch (err) {
  send({ type: 'failed', locked: err instanceof DataDirLockedError, message: (err as Error).message })
  process.disconnect!()
}
