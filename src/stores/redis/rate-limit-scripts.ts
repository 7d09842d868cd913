// Lua scripts of the Redis rate-limit store: checking and taking every counter of a request is one atomic step.
//
// KEYS, two per rule: a hash of one-second buckets (field `r:SECOND` requests, `t:SECOND` tokens) and a sorted set
// of the requests in flight, scored by when their lease ends (a crashed replica's requests leave when it does).
// Both expire when idle, so state for end users who stopped calling goes away by itself.
import { luaScript } from './connection.js';

/**
 * ARGV: nowMs, leaseMs, id, tokens, then rpm, tpm, concurrent for each rule (0: none).
 * Returns {'ok'} or {'refused', rule (1-based), limit, retryAfterMs}. Nothing is taken unless every rule passes.
 */
export const acquireScript = luaScript(`
local nowMs = tonumber(ARGV[1])
local leaseMs = tonumber(ARGV[2])
local id = ARGV[3]
local tokens = tonumber(ARGV[4])
local now = math.floor(nowMs / 1000)
local oldest = now - 59
local function retry(entries, need)
  table.sort(entries, function(a, b) return a[1] < b[1] end)
  local freed = 0
  for _, entry in ipairs(entries) do
    freed = freed + entry[2]
    if freed >= need then return (entry[1] + 60) * 1000 - nowMs end
  end
  return 60000
end
local rules = #KEYS / 2
for i = 1, rules do
  local base = 4 + (i - 1) * 3
  local rpm, tpm, concurrent = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  if rpm > 0 or tpm > 0 then
    local fields = redis.call('HGETALL', KEYS[2 * i - 1])
    local requests, tokenBuckets, stale = {}, {}, {}
    local requestSum, tokenSum = 0, 0
    for j = 1, #fields, 2 do
      local second = tonumber(string.sub(fields[j], 3))
      local amount = tonumber(fields[j + 1])
      if second < oldest then
        stale[#stale + 1] = fields[j]
      elseif string.sub(fields[j], 1, 1) == 'r' then
        requests[#requests + 1] = {second, amount}
        requestSum = requestSum + amount
      else
        tokenBuckets[#tokenBuckets + 1] = {second, amount}
        tokenSum = tokenSum + amount
      end
    end
    if #stale > 0 then redis.call('HDEL', KEYS[2 * i - 1], unpack(stale)) end
    if rpm > 0 and requestSum + 1 > rpm then return {'refused', i, 'rpm', retry(requests, requestSum + 1 - rpm)} end
    if tpm > 0 and tokenSum + tokens > tpm then return {'refused', i, 'tpm', retry(tokenBuckets, tokenSum + tokens - tpm)} end
  end
  if concurrent > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[2 * i], '-inf', nowMs)
    if redis.call('ZCARD', KEYS[2 * i]) + 1 > concurrent then return {'refused', i, 'concurrent', 1000} end
  end
end
for i = 1, rules do
  local base = 4 + (i - 1) * 3
  local rpm, tpm, concurrent = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  if rpm > 0 then redis.call('HINCRBY', KEYS[2 * i - 1], 'r:' .. now, 1) end
  if tpm > 0 then redis.call('HINCRBY', KEYS[2 * i - 1], 't:' .. now, tokens) end
  if rpm > 0 or tpm > 0 then redis.call('PEXPIRE', KEYS[2 * i - 1], 61000) end
  if concurrent > 0 then
    redis.call('ZADD', KEYS[2 * i], nowMs + leaseMs, id)
    redis.call('PEXPIRE', KEYS[2 * i], leaseMs)
  end
end
return {'ok'}
`);

/**
 * ARGV: id, admittedSecond, nowMs, tokenDelta, then hasTpm, hasConcurrent (1 or 0) for each rule.
 * Frees the request's concurrency slots and corrects its token bucket, if that bucket is still in the window.
 */
export const releaseScript = luaScript(`
local id = ARGV[1]
local admitted = ARGV[2]
local now = math.floor(tonumber(ARGV[3]) / 1000)
local delta = tonumber(ARGV[4])
for i = 1, #KEYS / 2 do
  local base = 4 + (i - 1) * 2
  if ARGV[base + 2] == '1' then redis.call('ZREM', KEYS[2 * i], id) end
  if ARGV[base + 1] == '1' and delta ~= 0 and tonumber(admitted) > now - 60 then
    local field = 't:' .. admitted
    local current = redis.call('HGET', KEYS[2 * i - 1], field)
    if current then
      local corrected = tonumber(current) + delta
      if corrected < 0 then corrected = 0 end
      redis.call('HSET', KEYS[2 * i - 1], field, corrected)
    end
  end
end
return 1
`);
