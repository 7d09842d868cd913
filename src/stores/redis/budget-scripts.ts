// Lua scripts of the Redis budget store: each is one atomic step on the server, one round trip per request.
//
// KEYS (the same five for every script):
//   1 ready marker (the server run id the counters were rebuilt for; absent after a flush or a restart)
//   2 hash counterKey -> spent        3 hash counterKey -> reserved
//   4 hash reservation id -> JSON [[counterKey, "amount"], ...]       5 sorted set reservation id by createdAt (ms)
// Amounts travel as decimal strings and go to HINCRBY unchanged: Lua numbers are doubles, exact below 2^53, which
// holds every amount (money is capped at 9e15 micro-dollars); they are converted only to compare.
import { luaScript } from './connection.js';

/** Every script first refuses to work on counters that were not rebuilt: the caller rebuilds and retries. */
const requireReady = `if redis.call('EXISTS', KEYS[1]) == 0 then return {'rebuild'} end`;

const counterValue = `
local function counter(hash, key)
  return tonumber(redis.call('HGET', hash, key) or '0')
end`;

const dropReservation = `
local function drop(id, encoded)
  for _, item in ipairs(cjson.decode(encoded)) do
    if redis.call('HINCRBY', KEYS[3], item[1], '-' .. item[2]) < 0 then redis.call('HSET', KEYS[3], item[1], 0) end
  end
  redis.call('HDEL', KEYS[4], id)
  redis.call('ZREM', KEYS[5], id)
end`;

/**
 * ARGV: id, createdAt, items JSON, then counterKey, amount, limit for each item.
 * Returns {'ok'} or {'refused', counterKey, then counterKey, spent, reserved for each item}.
 * All or nothing: every item is checked before any is incremented. A reservation already present was put back by a
 * rebuild after its write-ahead row was committed but before this grant: it is checked as if new (its own amounts
 * left out) and kept, or dropped when it does not fit.
 */
export const reserveScript = luaScript(`
${requireReady}
${counterValue}
${dropReservation}
local id = ARGV[1]
local existing = redis.call('HGET', KEYS[4], id)
local held = {}
if existing then
  for _, item in ipairs(cjson.decode(existing)) do held[item[1]] = (held[item[1]] or 0) + tonumber(item[2]) end
end
local refused = nil
for i = 4, #ARGV, 3 do
  local key = ARGV[i]
  if counter(KEYS[2], key) + counter(KEYS[3], key) - (held[key] or 0) + tonumber(ARGV[i + 1]) > tonumber(ARGV[i + 2]) then
    refused = key
    break
  end
end
if refused then
  if existing then drop(id, existing) end
  local reply = {'refused', refused}
  for i = 4, #ARGV, 3 do
    reply[#reply + 1] = ARGV[i]
    reply[#reply + 1] = redis.call('HGET', KEYS[2], ARGV[i]) or '0'
    reply[#reply + 1] = redis.call('HGET', KEYS[3], ARGV[i]) or '0'
  end
  return reply
end
if existing then return {'ok'} end
for i = 4, #ARGV, 3 do redis.call('HINCRBY', KEYS[3], ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[4], id, ARGV[3])
redis.call('ZADD', KEYS[5], ARGV[2], id)
return {'ok'}
`);

/**
 * ARGV: id, mode ('amounts' | 'release'), then counterKey, amount pairs (what PostgreSQL recorded for the settle).
 * Returns {'absent'} when Redis holds no such reservation, else {'applied', then counterKey, spent, reserved per counter}.
 */
export const settleScript = luaScript(`
${requireReady}
local id = ARGV[1]
local existing = redis.call('HGET', KEYS[4], id)
if not existing then return {'absent'} end
local settled = {}
for i = 3, #ARGV, 2 do settled[ARGV[i]] = ARGV[i + 1] end
local reply = {'applied'}
local seen = {}
for _, item in ipairs(cjson.decode(existing)) do
  local key = item[1]
  if redis.call('HINCRBY', KEYS[3], key, '-' .. item[2]) < 0 then redis.call('HSET', KEYS[3], key, 0) end
  local amount = '0'
  if ARGV[2] == 'amounts' then amount = settled[key] or item[2] end
  redis.call('HINCRBY', KEYS[2], key, amount)
  if not seen[key] then
    seen[key] = true
    reply[#reply + 1] = key
  end
end
redis.call('HDEL', KEYS[4], id)
redis.call('ZREM', KEYS[5], id)
local counters = {'applied'}
for i = 2, #reply do
  counters[#counters + 1] = reply[i]
  counters[#counters + 1] = redis.call('HGET', KEYS[2], reply[i]) or '0'
  counters[#counters + 1] = redis.call('HGET', KEYS[3], reply[i]) or '0'
end
return counters
`);

/** ARGV: counter keys. Returns {'ok', then spent, reserved per key (nil when the counter was never used)}. */
export const readScript = luaScript(`
${requireReady}
local reply = {'ok'}
for i = 1, #ARGV do
  reply[#reply + 1] = redis.call('HGET', KEYS[2], ARGV[i])
  reply[#reply + 1] = redis.call('HGET', KEYS[3], ARGV[i])
end
return reply
`);

/**
 * ARGV: glob patterns of counter keys (none: every counter). Returns {'ok', spent as a field/value list, reserved as a
 * field/value list}; HSCAN may list a field twice, so callers keep the last. A pattern narrows what is sent back,
 * not what Redis walks: the report's filters keep the reply to the current windows' counters.
 */
export const spendScript = luaScript(`
${requireReady}
if #ARGV == 0 then return {'ok', redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3])} end
local function scan(hash, pattern, out)
  local cursor = '0'
  repeat
    local reply = redis.call('HSCAN', hash, cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = reply[1]
    for i = 1, #reply[2] do out[#out + 1] = reply[2][i] end
  until cursor == '0'
end
local spent, reserved = {}, {}
for i = 1, #ARGV do
  scan(KEYS[2], ARGV[i], spent)
  scan(KEYS[3], ARGV[i], reserved)
end
return {'ok', spent, reserved}
`);

/**
 * ARGV: counterKey, spent pairs. Deletes each counter that holds nothing reserved and still has that spend (the figure
 * the caller reported before pruning). Returns {'ok', then each deleted counterKey}.
 */
export const pruneScript = luaScript(`
${requireReady}
local reply = {'ok'}
for i = 1, #ARGV, 2 do
  local key = ARGV[i]
  local spent = redis.call('HGET', KEYS[2], key)
  if tonumber(redis.call('HGET', KEYS[3], key) or '0') == 0 and spent ~= false and tonumber(spent) == tonumber(ARGV[i + 1]) then
    redis.call('HDEL', KEYS[2], key)
    redis.call('HDEL', KEYS[3], key)
    reply[#reply + 1] = key
  end
end
return reply
`);
