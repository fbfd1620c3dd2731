package gallery

import (
	"time"

	"github.com/sdkeda/sdkeda/internal/store"
)

// How often the index relists the bucket. Two forces: freshness (a change
// whose notification is lost or late shows only at the next relisting) and
// cost (every relisting is LIST calls on the store, by every webui replica).
//
//   - While the store's notifications are trusted, they keep the index
//     fresh, and a full relisting runs only every Options.Resync
//     (RESYNC_INTERVAL), to repair what they may still lose.
//   - Otherwise relisting is what keeps the index fresh, as often as a
//     budget of LIST calls allows: it refills at Options.ListRate calls per
//     second (default 1) up to listBurst, and a relisting starts only once
//     the budget holds what the last one cost. Also never more often than
//     every 20 times the last relisting's duration (at most ~5 % of the
//     time spent listing) nor every Options.MinResync.
//
// Notifications are trusted once some arrived since the last relisting, on
// time, and that relisting found nothing they had missed. Trust ends when a
// relisting finds a change they missed, when one arrives late (lateAfter
// after its event: the MinIO build the tests pin sends events in 4 KiB
// batches, so a lone event can wait for the next ones; the next relisting is
// then scheduled again without trust), or when the stream broke (the index
// relists at once, within the budget: changes between two streams are lost).

const (
	// listBurst is the most LIST calls the budget holds: the first listing
	// of a bucket (one call per first character) fits without waiting.
	listBurst = 100
	// listPage is how many keys one S3 LIST call returns.
	listPage = 1000
	// lateAfter is how old a notification may be when it arrives and still
	// count as on time.
	lateAfter = 2 * time.Second
	// wholeListingMax: a bucket that had fewer objects than this at the last
	// relisting is listed in one listing (one LIST call per 1,000 keys); a
	// bigger one one first character at a time, to bound memory.
	wholeListingMax = 10000
)

// lists is the LIST calls a listing of n keys costs on S3.
func lists(n int) int { return max(1, (n+listPage-1)/listPage) }

// budget is the LIST-call budget of relisting; only Run's loop uses it.
type budget struct {
	rate     float64 // calls per second
	tokens   float64
	at       time.Time
	nextCost int // what the next relisting will cost, as far as known
}

func newBudget(rate float64, now time.Time) *budget {
	return &budget{rate: rate, tokens: listBurst, at: now}
}

func (b *budget) refill(now time.Time) {
	b.tokens = min(listBurst, b.tokens+now.Sub(b.at).Seconds()*b.rate)
	b.at = now
}

// spend records a relisting that made cost LIST calls, and what the next
// one will cost.
func (b *budget) spend(now time.Time, cost, next int) {
	b.refill(now)
	b.tokens -= float64(cost)
	b.nextCost = next
}

// wait is how long until the budget holds the next relisting's cost.
func (b *budget) wait(now time.Time) time.Duration {
	b.refill(now)
	need := min(float64(b.nextCost), listBurst) - b.tokens
	if need <= 0 {
		return 0
	}
	return time.Duration(need / b.rate * float64(time.Second))
}

// nextResync is the pause before the next relisting, after one that took
// took.
func nextResync(o Options, trusted bool, took, budgetWait time.Duration) time.Duration {
	w := o.Resync
	if !trusted {
		w = min(max(20*took, o.MinResync), o.Resync)
	}
	return max(w, budgetWait)
}

// noteNotification counts a change from the store's own stream (not one
// learned by Notify) for the trust in notifications.
func (ix *Index) noteNotification(c store.Change) {
	if m := c.Object.Modified; !m.IsZero() && time.Since(m) > lateAfter {
		ix.distrust(ix.reschedule)
		return
	}
	ix.notified.Add(1)
}

// distrust ends the trust in notifications and signals the relisting loop
// on ch: ix.kick (relist now) or ix.reschedule (plan the next one again).
func (ix *Index) distrust(ch chan struct{}) {
	ix.late.Store(true)
	if ix.trusted.Swap(false) {
		ix.log.Info("gallery: notifications are late or lost; relisting within the LIST budget")
	}
	select {
	case ch <- struct{}{}:
	default:
	}
}

// judge updates the trust after a relisting that found changes, given the
// notifications on time and whether one was late since the one before.
func (ix *Index) judge(changes int, notified int64, late bool) {
	switch {
	case changes > 0 || late:
		ix.trusted.Store(false)
	case notified > 0:
		if !ix.trusted.Swap(true) {
			ix.log.Info("gallery: notifications arrive on time; full relisting every RESYNC_INTERVAL", "every", ix.o.Resync)
		}
	}
}
