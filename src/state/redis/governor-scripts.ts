import { LuaScript } from './client.ts';

/*
 * Each algorithm is one Lua function, defined once and used both by the
 * single-store scripts and by DECIDE, which runs a whole call's plan in one
 * step. Lua numbers are doubles; Redis turns a returned number into an
 * integer, so only integers are returned.
 */

/** Token bucket in hash `key` {t = tokens, ts = last update ms}. Returns allowed (0|1), retryAfterMs. */
const TAKE_FN = `
local function take(key, capacity, rate, now, cost)
  local state = redis.call('HMGET', key, 't', 'ts')
  local tokens = tonumber(state[1])
  local ts = tonumber(state[2])
  if tokens == nil or ts == nil then
    tokens = capacity
    ts = now
  end
  if now > ts then
    tokens = tokens + (now - ts) * rate / 1000
    ts = now
  end
  if tokens > capacity then tokens = capacity end
  local allowed = 0
  local retry = 0
  if tokens + 1e-9 >= cost then
    tokens = math.max(0, tokens - cost)
    allowed = 1
  else
    retry = math.ceil((cost - tokens) * 1000 / rate)
  end
  local fullIn = math.ceil((capacity - tokens) * 1000 / rate)
  redis.call('HSET', key, 't', string.format('%.17g', tokens), 'ts', string.format('%d', ts))
  redis.call('PEXPIRE', key, fullIn + 1000)
  return allowed, retry
end
`;

/**
 * The window's spend counter `key`; ttlMs is relative (times are the caller's
 * clock, expiry is Redis's). Refuses without charging when cost would pass the
 * budget. Returns allowed, spent.
 */
const CHARGE_FN = `
local function charge(key, cost, budget, ttlMs)
  local spent = tonumber(redis.call('GET', key) or '0')
  if spent + cost > budget then
    return 0, spent
  end
  spent = redis.call('INCRBY', key, cost)
  redis.call('PEXPIRE', key, ttlMs)
  return 1, spent
end
`;

/**
 * Sorted set `key` of this call's times (score = ms); the window is
 * (now - windowMs, now]. Only allowed calls are recorded, so the set holds at
 * most maxRepeats members. Returns allowed, count, retryAfterMs.
 */
const HIT_FN = `
local function hit(key, now, windowMs, maxRepeats, member)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - windowMs)
  local count = redis.call('ZCARD', key)
  if count >= maxRepeats then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return 0, count, tonumber(oldest[2]) + windowMs - now
  end
  redis.call('ZADD', key, now, member)
  local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', key, tonumber(newest[2]) + windowMs - now + 1000)
  return 1, count + 1, 0
end
`;

/** KEYS[1] bucket; ARGV capacity, refillPerSecond, nowMs, cost. Returns {allowed, retryAfterMs}. */
export const TAKE = new LuaScript(`${TAKE_FN}
local allowed, retry = take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
return {allowed, retry}
`);

/** KEYS[1] counter; ARGV cost, budget, ttlMs. Returns {allowed, spent}. */
export const CHARGE = new LuaScript(`${CHARGE_FN}
local allowed, spent = charge(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3])
return {allowed, spent}
`);

/** KEYS[1] sorted set; ARGV nowMs, windowMs, maxRepeats, member. Returns {allowed, count, retryAfterMs}. */
export const HIT = new LuaScript(`${HIT_FN}
local allowed, count, retry = hit(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4])
return {allowed, count, retry}
`);

/**
 * A whole call's plan in one step, optionally preceded by consuming a claim
 * id: replay check, loop guard, buckets in order, spend; the first refusal
 * returns at once and leaves the later steps untouched (a replayed claim
 * charges nothing).
 * KEYS: [replay key if ARGV[1] = 1] [loop key if loopOn] [n bucket keys] [spend key if on]
 * ARGV: replayOn, replayAtMs, now, loopOn, windowMs, maxRepeats, member, n, (capacity, rate) * n, spendOn, cost, budget, ttlMs
 * Returns {step, a, b}: 0 allowed; -2 replayed; 1 loop refused (a = retryAfterMs, b = count);
 * 1 + i bucket i refused (a = retryAfterMs); -1 spend refused (a = spent).
 */
export const DECIDE = new LuaScript(`${TAKE_FN}${CHARGE_FN}${HIT_FN}
local k = 1
if ARGV[1] == '1' then
  if not redis.call('SET', KEYS[1], '1', 'PXAT', ARGV[2], 'NX') then return {-2, 0, 0} end
  k = 2
end
local now = tonumber(ARGV[3])
if ARGV[4] == '1' then
  local allowed, count, retry = hit(KEYS[k], now, tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7])
  if allowed == 0 then return {1, retry, count} end
  k = k + 1
end
local n = tonumber(ARGV[8])
for i = 1, n do
  local allowed, retry = take(KEYS[k], tonumber(ARGV[7 + 2 * i]), tonumber(ARGV[8 + 2 * i]), now, 1)
  if allowed == 0 then return {1 + i, retry, 0} end
  k = k + 1
end
local a = 9 + 2 * n
if ARGV[a] == '1' then
  local allowed, spent = charge(KEYS[k], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), ARGV[a + 3])
  if allowed == 0 then return {-1, spent, 0} end
end
return {0, 0, 0}
`);
