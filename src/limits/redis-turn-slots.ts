// The per-user concurrent-turn cap shared by every instance (REDIS_URL): a sorted set per user
// whose members are the running turnIds, scored by when their lease ends (Redis's own clock, so
// instances' clocks do not matter). The instance running a turn renews its lease every third of
// the lease; a crashed instance renews nothing, so its slots lapse within one lease.
//
// Redis unreachable or slower than the deadline: the cap falls back to this instance's own
// running turns (logged once per outage), so a kiosk gets an answer at once and turns keep
// working as local turns do; the cap then holds per instance until Redis answers again.
import type { Redis } from 'ioredis'
import type { Log } from '../core/log.ts'
import type { TurnSlots } from '../core/turn-slots.ts'

/** KEYS[1] the user's set; ARGV turnId, limit, leaseMs. Drops lapsed slots, then takes one if below the limit. */
const ACQUIRE = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`

/** KEYS the users' sets, ARGV leaseMs then one turnId per key: every slot's lease starts anew. */
const RENEW = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local lease = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + lease, ARGV[i + 1])
  redis.call('PEXPIRE', key, lease)
end
return #KEYS
`

export interface RedisTurnSlotsOptions {
  redis: Redis
  keyPrefix: string
  log: Log
  /** How long a slot outlives its instance's last renewal (default 5 s). */
  leaseMs?: number
  /** How long a Redis call may take before the local fallback answers (default 500 ms). */
  deadlineMs?: number
}

export class RedisTurnSlots implements TurnSlots {
  readonly #redis: Redis
  readonly #keyPrefix: string
  readonly #log: Log
  readonly #leaseMs: number
  readonly #deadlineMs: number
  /** Slots this instance holds: turnId → userId. */
  readonly #held = new Map<string, string>()
  readonly #renewal: NodeJS.Timeout
  #degraded = false

  constructor(options: RedisTurnSlotsOptions) {
    this.#redis = options.redis
    this.#keyPrefix = options.keyPrefix
    this.#log = options.log
    this.#leaseMs = options.leaseMs ?? 5000
    this.#deadlineMs = options.deadlineMs ?? 500
    this.#renewal = setInterval(() => this.#renew(), Math.max(1, Math.floor(this.#leaseMs / 3)))
    this.#renewal.unref()
  }

  async acquire(userId: string, turnId: string, limit: number): Promise<boolean> {
    try {
      const taken = await this.#withDeadline(this.#redis.eval(ACQUIRE, 1, this.#key(userId), turnId, limit, this.#leaseMs))
      this.#recovered()
      if (taken !== 1) return false
    } catch (err) {
      this.#failed(err)
      // Counted and taken in one step, as in memory: the turns this instance runs.
      if (!this.#held.has(turnId) && this.#heldBy(userId) >= limit) return false
    }
    this.#held.set(turnId, userId)
    return true
  }

  release(userId: string, turnId: string): void {
    if (this.#held.get(turnId) !== userId) return
    this.#held.delete(turnId)
    // Not removed (Redis down): the slot lapses with its lease.
    this.#withDeadline(this.#redis.zrem(this.#key(userId), turnId)).catch((err) => this.#failed(err))
  }

  async close(): Promise<void> {
    clearInterval(this.#renewal)
  }

  #renew(): void {
    if (this.#held.size === 0) return
    const turnIds = [...this.#held.keys()]
    const keys = turnIds.map((turnId) => this.#key(this.#held.get(turnId)!))
    this.#withDeadline(this.#redis.eval(RENEW, keys.length, ...keys, this.#leaseMs, ...turnIds))
      .then(() => this.#recovered(), (err) => this.#failed(err))
  }

  #heldBy(userId: string): number {
    let count = 0
    for (const holder of this.#held.values()) if (holder === userId) count++
    return count
  }

  #key(userId: string): string {
    return `${this.#keyPrefix}turn-slots:${userId}`
  }

  #withDeadline<T>(call: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${this.#deadlineMs} ms`)), this.#deadlineMs)
    })
    return Promise.race([call, deadline]).finally(() => clearTimeout(timer))
  }

  #failed(err: unknown): void {
    if (this.#degraded) return
    this.#degraded = true
    this.#log.warn({ err }, 'turn slots: Redis unavailable, capping concurrent turns per instance until it answers')
  }

  #recovered(): void {
    if (!this.#degraded) return
    this.#degraded = false
    this.#log.info({}, 'turn slots: Redis answers again, the cap is shared again')
  }
}
