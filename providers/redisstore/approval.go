package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sspr-project/sspr/flow"
)

const (
	// answerGrace is the least time an answer stays for its waiter, so one
	// given just before the approval expires is still collected.
	answerGrace = 5 * time.Second
	// recheck bounds how long a waiter trusts its subscription alone: a
	// message published while the subscription reconnects is lost, the
	// answer in the key is not.
	recheck = time.Second
)

func (s *Store) approvalKey(token string) string     { return s.prefix + "a:{" + token + "}" }
func (s *Store) approvalChannel(token string) string { return s.prefix + "a:" + token }

// CreateApproval implements flow.Store.
func (s *Store) CreateApproval(ctx context.Context, token string, ttl time.Duration) error {
	fresh, err := s.rdb.SetNX(ctx, s.approvalKey(token), "p", time.Duration(millis(ttl))*time.Millisecond).Result()
	if err != nil {
		return fmt.Errorf("redisstore: create approval: %w", err)
	}
	if !fresh {
		return errors.New("redisstore: create approval: token already in use")
	}
	return nil
}

// ResolveApproval implements flow.Store.
func (s *Store) ResolveApproval(ctx context.Context, token, answer string) error {
	done, err := resolveScript.Run(ctx, s.rdb, []string{s.approvalKey(token)},
		answer, s.approvalChannel(token), millis(answerGrace)).Int64()
	if err != nil {
		return fmt.Errorf("redisstore: resolve approval: %w", err)
	}
	if done != 1 {
		return flow.ErrNoApproval
	}
	return nil
}

// DeleteApproval implements flow.Store.
func (s *Store) DeleteApproval(ctx context.Context, token string) error {
	if err := voidScript.Run(ctx, s.rdb, []string{s.approvalKey(token)}, s.approvalChannel(token)).Err(); err != nil {
		return fmt.Errorf("redisstore: delete approval: %w", err)
	}
	return nil
}

// AwaitApproval implements flow.Store. It subscribes to the approval's
// channel before it first looks at the approval, so an answer given between
// the two is not missed; the answer itself is always read from the key.
func (s *Store) AwaitApproval(ctx context.Context, token string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	sub := s.rdb.Subscribe(ctx)
	defer sub.Close()
	if err := s.subscribed(ctx, sub, s.approvalChannel(token)); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("redisstore: await approval: subscribe: %w", err)
	}
	msgs := sub.Channel()
	for {
		answered, answer, left, err := s.claim(ctx, token)
		switch {
		case ctx.Err() != nil:
			return "", ctx.Err()
		case err != nil:
			return "", fmt.Errorf("redisstore: await approval: %w", err)
		case answered:
			return answer, nil
		case left <= 0:
			return "", flow.ErrNoApproval
		}
		// Pending: wake on a message, when it expires, or to look again.
		timer := time.NewTimer(min(left+time.Millisecond, recheck))
		select {
		case _, ok := <-msgs:
			if !ok {
				msgs = nil // closed: rely on rechecks
			}
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return "", ctx.Err()
		}
		timer.Stop()
	}
}

// subscribed subscribes sub to channel and waits until Redis confirms it.
func (s *Store) subscribed(ctx context.Context, sub *redis.PubSub, channel string) error {
	if err := sub.Subscribe(ctx, channel); err != nil {
		return err
	}
	for {
		msg, err := sub.ReceiveTimeout(ctx, s.readTimeout)
		if err != nil {
			return err
		}
		if m, ok := msg.(*redis.Subscription); ok && m.Channel == channel {
			return nil
		}
	}
}

// claim takes the answer of token if it has one. Otherwise left is what
// remains of a pending approval, 0 when there is none.
func (s *Store) claim(ctx context.Context, token string) (answered bool, answer string, left time.Duration, err error) {
	res, err := claimScript.Run(ctx, s.rdb, []string{s.approvalKey(token)}).Slice()
	if err != nil {
		return false, "", 0, err
	}
	if len(res) == 0 {
		return false, "", 0, errors.New("unexpected reply")
	}
	state, _ := res[0].(int64)
	switch {
	case state == 0:
		return false, "", 0, nil
	case state == 1 && len(res) == 2:
		answer, ok := res[1].(string)
		if !ok {
			return false, "", 0, errors.New("unexpected reply")
		}
		return true, answer, 0, nil
	case state == 2 && len(res) == 2:
		ms, _ := res[1].(int64)
		return false, "", time.Duration(ms) * time.Millisecond, nil
	}
	return false, "", 0, errors.New("unexpected reply")
}
