package web

import "context"

// Len is the cached queue length as a submission sees it (reserve without
// reserving), for the tests.
func (c *lenCache) Len(ctx context.Context) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lenLocked(ctx)
}
