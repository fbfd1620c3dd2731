package rabbitmq

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// What the broker does with a message whose consumers die holding it, as a
// killed worker's do (its TCP connection drops without an AMQP close), for
// x-delivery-limit N: measured on the RabbitMQ that testenv starts (3.10).
// The status package's rule for a job whose worker was lost
// (queue.LastDelivery) is built on what this test holds:
//   - the message is delivered N+1 times: the first delivery carries no
//     x-delivery-count (Returns 0), the k-th carries k-1, the last N;
//   - the return of the delivery that carried N (the N+1-th return) makes
//     the broker dead-letter it (x-first-death-reason delivery_limit),
//     without any consumer seeing it again; the message behind it is next.
func TestDeliveryLimitCountsLostConsumers(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{1, 2, 3} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			t.Parallel()
			r := testenv.RabbitMQ(t)
			f := setup(t, queue.Options{DeliveryLimit: limit})
			f.publish("doomed", `{"prompt":"x"}`)
			f.publish("next", `{"prompt":"y"}`)
			var returns []int
			for round := 0; ; round++ {
				if round > limit+2 {
					t.Fatalf("still delivered after %d deaths; returns seen %v", round, returns)
				}
				// A worker of its own, through a proxy that drops its TCP
				// connection as a kill -9 of its process does.
				p := testenv.NewProxy(t, hostPort(t, r.URL))
				w := setupOn(t, p.ProxyURL(t, r.URL), f.opts)
				d := f.next(w.consumer())
				if d.ID() != "doomed" {
					if d.ID() != "next" {
						t.Fatalf("round %d: got %q", round, d.ID())
					}
					if err := d.Ack(ctxT(t, 5*time.Second)); err != nil {
						t.Fatal(err)
					}
					break
				}
				returns = append(returns, d.Returns())
				if last := queue.LastDelivery(d.Returns(), limit); last != (round == limit) {
					t.Errorf("delivery %d (returns %d): LastDelivery %v", round+1, d.Returns(), last)
				}
				p.Cut(time.Hour)
				w.q.Close()
			}
			want := make([]int, limit+1)
			for i := range want {
				want[i] = i
			}
			if fmt.Sprint(returns) != fmt.Sprint(want) {
				t.Errorf("x-delivery-count of the deliveries: %v, want %v", returns, want)
			}
			f.waitCount("dead", f.q.DeadLen, 1)
			f.waitCount("ready", f.q.Len, 0)
			if reason := testenv.PeekHeader(t, f.url, queue.DeadName(f.opts.Name), "x-first-death-reason"); reason != "delivery_limit" {
				t.Errorf("dead-letter reason %q, want delivery_limit", reason)
			}
			t.Logf("x-delivery-limit %d: %d deliveries, x-delivery-count %v; the return of the last one dead-lettered it",
				limit, len(returns), returns)
		})
	}
}

// hostPort is the host:port of a URL.
func hostPort(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}
