// Owner leases of running turns: one sorted set, member the turnId, score the lease's deadline
// (epoch ms; instances' clocks agree to well under a lease). The instance running a turn renews
// it every half lease; when a lease lapses (its instance died), one instance adopts the turn.
// Both steps are Lua scripts, so a renewal and an adoption never interleave and of any number
// of instances adopting at once exactly one gets each turn.
import type { Redis } from 'ioredis'

/** Renews the leases of running turns; returns those whose info hash is gone (Redis lost it). */
const RENEW = `
local missing = {}
for i = 3, #ARGV do
  local state = redis.call('HGET', ARGV[2] .. 'turn:' .. ARGV[i] .. ':info', 'state')
  if state == 'running' then redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i])
  elseif not state then table.insert(missing, ARGV[i]) end
end
return missing`

/** Takes the turns whose lease lapsed (all, or the one named): their state goes running -> adopted. */
const ADOPT = `
local ids
if ARGV[4] then
  local deadline = redis.call('ZSCORE', KEYS[1], ARGV[4])
  ids = (deadline and tonumber(deadline) <= tonumber(ARGV[1])) and { ARGV[4] } or {}
else
  ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
end
local adopted = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local info = ARGV[2] .. 'turn:' .. id .. ':info'
  if redis.call('HGET', info, 'state') == 'running' then
    redis.call('HSET', info, 'state', 'adopted')
    table.insert(adopted, id)
  end
end
return adopted`

/** Lapsed turns one sweep adopts at most (the next sweep takes the rest). */
const ADOPT_BATCH = 50

export class TurnLeases {
  readonly #redis: Redis
  readonly #keyPrefix: string
  readonly leaseMs: number
  /** The sorted set of running turns' lease deadlines. */
  readonly key: string

  constructor(redis: Redis, keyPrefix: string, leaseMs: number) {
    this.#redis = redis
    this.#keyPrefix = keyPrefix
    this.leaseMs = leaseMs
    this.key = `${keyPrefix}turn-leases`
  }

  /** The deadline a lease taken or renewed now gets. */
  deadline(): number {
    return Date.now() + this.leaseMs
  }

  /**
   * Renews these running turns' leases; returns the turns Redis forgot (to be written back). It
   * asks Redis even with no turns: the answer tells the hub that Redis is there.
   */
  async renew(turnIds: readonly string[]): Promise<string[]> {
    return (await this.#redis.eval(RENEW, 1, this.key, this.deadline(), this.#keyPrefix, ...turnIds)) as string[]
  }

  /** Adopts lapsed turns (any, or only `turnId`): each lapsed turn goes to exactly one caller. */
  async adopt(turnId?: string): Promise<string[]> {
    const args: Array<string | number> = [Date.now(), this.#keyPrefix, ADOPT_BATCH]
    if (turnId) args.push(turnId)
    return (await this.#redis.eval(ADOPT, 1, this.key, ...args)) as string[]
  }
}
