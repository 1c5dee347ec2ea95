// dynalite in its own process (in memory), for the REST run against the DynamoDB code path.
// Prints `ready <endpoint>` on stdout when listening.
import { listenDynalite } from '../src/storage/dynalite-server.ts'

const dynalite = await listenDynalite()
console.log(`ready ${dynalite.endpoint}`)
