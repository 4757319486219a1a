package redisstore

import "github.com/redis/go-redis/v9"

// The scripts run atomically on the server: no other command runs between
// their check and their write, whichever instance sent them. Windows keep one
// sorted-set member per event, scored by the server's TIME in microseconds;
// an event is in the window while its score is greater than now - window.
// Each script touches one key, so it runs on any Cluster node.

// takeScript records an event if fewer than limit are in the window.
// KEYS[1] window; ARGV[1] window (µs), ARGV[2] limit, ARGV[3] member,
// ARGV[4] window (ms). Returns {1, 0} when taken, else {0, µs until the
// event that frees a slot leaves the window}.
var takeScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
  end
  return {1, 0}
end
if limit < 1 or n == 0 then
  return {0, window}
end
local e = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
return {0, tonumber(e[2]) + window - now}
`)

// addScript records an event unconditionally.
// KEYS[1] window; ARGV[1] window (µs), ARGV[2] member, ARGV[3] window (ms).
// Returns the number of events in the window, this one included.
var addScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
redis.call('ZADD', KEYS[1], now, ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return redis.call('ZCARD', KEYS[1])
`)

// holdScript sets a hold unless one that ends later is already there.
// KEYS[1] hold; ARGV[1] ttl (ms).
var holdScript = redis.NewScript(`
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 1
`)

// An approval is the value "p" while pending and "a" followed by the answer
// once answered; its channel hears "a" when it is answered and "v" when it is
// voided.

// resolveScript answers a pending approval, once, and tells its waiter.
// KEYS[1] approval; ARGV[1] answer, ARGV[2] channel, ARGV[3] grace (ms): the
// least time an answer is kept for its waiter to collect. Returns 1 when
// answered, 0 when the approval is unknown, expired or answered already.
var resolveScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= 'p' then
  return 0
end
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[3]) then
  left = tonumber(ARGV[3])
end
redis.call('SET', KEYS[1], 'a' .. ARGV[1], 'PX', left)
redis.call('PUBLISH', ARGV[2], 'a')
return 1
`)

// claimScript takes the answer of an approval if there is one.
// KEYS[1] approval. Returns {0} when the approval is gone, {1, answer} when
// answered (and removes it), {2, ms left} while pending.
var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  return {0}
end
if string.sub(v, 1, 1) == 'a' then
  redis.call('DEL', KEYS[1])
  return {1, string.sub(v, 2)}
end
return {2, redis.call('PTTL', KEYS[1])}
`)

// voidScript removes an approval and wakes its waiter.
// KEYS[1] approval; ARGV[1] channel.
var voidScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], 'v')
return 1
`)
