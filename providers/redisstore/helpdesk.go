package redisstore

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sspr-project/sspr/flow"
)

// Helpdesk codes (flow.HelpdeskStore): one hash per code, with the login,
// the agent, the code's keyed hash, the uses left and the expiry (unix
// ms), expiring with the code; and an index, a sorted set of the codes'
// keys scored by their expiry, for the list. Both carry the hash tag
// {helpdesk}, so the scripts that touch both run on one Cluster node.
// Expiries are the issuing instance's clock.

func (s *Store) helpdeskKey(key string) string { return s.prefix + "{helpdesk}:" + key }
func (s *Store) helpdeskIndex() string         { return s.prefix + "{helpdesk}:index" }

// putHelpdeskScript replaces a code and indexes it, dropping expired ones
// from the index, which expires with its last code. KEYS[1] code, KEYS[2] index; ARGV[1] login, ARGV[2]
// agent, ARGV[3] hash, ARGV[4] uses, ARGV[5] expiry (ms), ARGV[6] member,
// ARGV[7] now (ms).
var putHelpdeskScript = redis.NewScript(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'login', ARGV[1], 'agent', ARGV[2], 'hash', ARGV[3], 'uses', ARGV[4], 'exp', ARGV[5])
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[7])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[2], last[2])
return 1
`)

// useHelpdeskScript spends one use of a code whose hash is still the one
// given; the last use removes it. KEYS[1] code, KEYS[2] index; ARGV[1]
// hash, ARGV[2] member. Returns 1 when a use was spent, else 0. The hashes
// it compares are keyed HMACs: their comparison tells nothing of a code.
var useHelpdeskScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'hash') ~= ARGV[1] then
  return 0
end
local left = redis.call('HINCRBY', KEYS[1], 'uses', -1)
if left <= 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
end
if left < 0 then
  return 0
end
return 1
`)

// PutHelpdeskCode implements flow.HelpdeskStore.
func (s *Store) PutHelpdeskCode(ctx context.Context, key string, c flow.HelpdeskCode) error {
	err := putHelpdeskScript.Run(ctx, s.rdb, []string{s.helpdeskKey(key), s.helpdeskIndex()},
		c.Login, c.Agent, hex.EncodeToString(c.Hash), c.Uses, c.Expires.UnixMilli(), key, time.Now().UnixMilli()).Err()
	if err != nil {
		return fmt.Errorf("redisstore: put helpdesk code: %w", err)
	}
	return nil
}

// decodeHelpdesk reads a code's hash; ok is false when it is gone or
// spent.
func decodeHelpdesk(m map[string]string) (c flow.HelpdeskCode, ok bool) {
	uses, err1 := strconv.Atoi(m["uses"])
	exp, err2 := strconv.ParseInt(m["exp"], 10, 64)
	hash, err3 := hex.DecodeString(m["hash"])
	if len(m) == 0 || err1 != nil || err2 != nil || err3 != nil || uses < 1 {
		return c, false
	}
	c = flow.HelpdeskCode{Login: m["login"], Agent: m["agent"], Hash: hash, Uses: uses, Expires: time.UnixMilli(exp)}
	return c, time.Now().Before(c.Expires)
}

// HelpdeskCode implements flow.HelpdeskStore.
func (s *Store) HelpdeskCode(ctx context.Context, key string) (flow.HelpdeskCode, bool, error) {
	m, err := s.rdb.HGetAll(ctx, s.helpdeskKey(key)).Result()
	if err != nil {
		return flow.HelpdeskCode{}, false, fmt.Errorf("redisstore: helpdesk code: %w", err)
	}
	c, ok := decodeHelpdesk(m)
	return c, ok, nil
}

// UseHelpdeskCode implements flow.HelpdeskStore.
func (s *Store) UseHelpdeskCode(ctx context.Context, key string, hash []byte) (bool, error) {
	n, err := useHelpdeskScript.Run(ctx, s.rdb, []string{s.helpdeskKey(key), s.helpdeskIndex()},
		hex.EncodeToString(hash), key).Int64()
	if err != nil {
		return false, fmt.Errorf("redisstore: use helpdesk code: %w", err)
	}
	return n == 1, nil
}

// DeleteHelpdeskCode implements flow.HelpdeskStore.
func (s *Store) DeleteHelpdeskCode(ctx context.Context, key string) (bool, error) {
	var del *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		del = p.Del(ctx, s.helpdeskKey(key))
		p.ZRem(ctx, s.helpdeskIndex(), key)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("redisstore: delete helpdesk code: %w", err)
	}
	return del.Val() > 0, nil
}

// HelpdeskCodes implements flow.HelpdeskStore.
func (s *Store) HelpdeskCodes(ctx context.Context) ([]flow.HelpdeskCode, error) {
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	keys, err := s.rdb.ZRangeByScore(ctx, s.helpdeskIndex(), &redis.ZRangeBy{Min: "(" + now, Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstore: helpdesk codes: %w", err)
	}
	cmds := make([]*redis.MapStringStringCmd, len(keys))
	if len(keys) > 0 {
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				cmds[i] = p.HGetAll(ctx, s.helpdeskKey(k))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("redisstore: helpdesk codes: %w", err)
		}
	}
	var out []flow.HelpdeskCode
	for _, cmd := range cmds {
		if c, ok := decodeHelpdesk(cmd.Val()); ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// HelpdeskLive implements flow.HelpdeskStore.
func (s *Store) HelpdeskLive(ctx context.Context) (bool, error) {
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	n, err := s.rdb.ZCount(ctx, s.helpdeskIndex(), "("+now, "+inf").Result()
	if err != nil {
		return false, fmt.Errorf("redisstore: helpdesk live: %w", err)
	}
	return n > 0, nil
}

var _ flow.HelpdeskStore = (*Store)(nil)
