package embedded

import "context"

// argon runs fn, one argon2id computation, in its turn: at most
// d.hashesAtOnce run at once, each with the memory its parameters ask for,
// so that people reaching the password step together cannot take a hash's
// memory each, nor slow every hash down by contention. Turns are taken in
// order of arrival. A caller whose ctx ends while it waits leaves the
// queue at once with ctx's error, and fn does not run.
func (d *Dir) argon(ctx context.Context, fn func()) error {
	d.queued.Add(1)
	err := d.hashing.Acquire(ctx, 1)
	d.queued.Add(-1)
	if err != nil {
		return err
	}
	defer d.hashing.Release(1)
	if d.onArgon != nil {
		d.onArgon(+1)
		defer d.onArgon(-1)
	}
	fn()
	return nil
}

// hash is Hash at the Dir's parameters, in its turn.
func (d *Dir) hash(ctx context.Context, password string) (string, error) {
	var h string
	var err error
	if werr := d.argon(ctx, func() { h, err = Hash(password, d.params) }); werr != nil {
		return "", werr
	}
	return h, err
}

// verify is Verify in its turn.
func (d *Dir) verify(ctx context.Context, encoded, password string) (bool, error) {
	var ok bool
	var err error
	if werr := d.argon(ctx, func() { ok, err = Verify(encoded, password) }); werr != nil {
		return false, werr
	}
	return ok, err
}
