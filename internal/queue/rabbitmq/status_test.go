package rabbitmq

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// The events published while a subscriber's connection is down wait for it:
// after it reconnects it gets every one, so a job never stays "queued" on a
// page because its last event fell into the gap. The subscriber reaches the
// broker through a proxy that the test cuts; the publisher does not.
func TestStatusSubscriptionKeepsEventsAcrossAReconnect(t *testing.T) {
	t.Parallel()
	r := testenv.RabbitMQ(t)
	pub := setup(t, queue.Options{})
	u, err := url.Parse(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, u.Host)
	sub := setupOn(t, proxy.ProxyURL(t, r.URL), pub.opts)
	ctx := ctxT(t, 60*time.Second)
	events, err := sub.q.SubscribeStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	receive := func(want string) {
		t.Helper()
		for {
			select {
			case e, ok := <-events:
				if !ok {
					t.Fatalf("the subscription ended while waiting for %s", want)
				}
				if e.ID == want {
					return
				}
			case <-ctx.Done():
				t.Fatalf("%s never arrived", want)
			}
		}
	}
	if err := pub.q.PublishStatus(ctx, job.Event{ID: "before", State: job.Queued}); err != nil {
		t.Fatal(err)
	}
	receive("before")

	proxy.Cut(time.Second)
	const gap = 50
	for i := range gap {
		if err := pub.q.PublishStatus(ctx, job.Event{ID: fmt.Sprintf("gap-%02d", i), State: job.Failed, Reason: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	seen := map[string]bool{}
	for len(seen) < gap {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("the subscription ended")
			}
			seen[e.ID] = true
		case <-ctx.Done():
			t.Fatalf("only %d of the %d events published during the cut arrived", len(seen), gap)
		}
	}
	t.Logf("the %d events of the gap arrived %s after the cut began", gap, time.Since(start).Round(time.Millisecond))
}
