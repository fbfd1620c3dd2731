package e2e

import (
	"fmt"
	"strings"
	"time"
)

// faultReport is the outcome of one fault-suite run.
type faultReport struct {
	jobs        int
	subs        []submission
	t           tally
	ch          *chaos
	ready, dead int
	wall        time.Duration
	s           *stack
}

// restarts counts the worker restarts and the exits nobody caused.
func (r faultReport) restarts() (starts, kills, ownExits int) {
	for _, p := range r.s.pods() {
		st, k, ex := p.report()
		starts, kills, ownExits = starts+st, kills+k, ownExits+len(ex)
	}
	return starts, kills, ownExits
}

func (r faultReport) table() string {
	codes := statuses(r.subs)
	refused := len(r.subs) - r.t.Accepted
	starts, kills, own := r.restarts()
	var sb strings.Builder
	sb.WriteString("| submitted | accepted (202) | refused or unanswered | completed | lost | doubled | run again | entries without a 202 | left in queue | dead letters |\n")
	sb.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(&sb, "| %d | %d | %d (%s) | %d | %d | %d | %d | %d | %d | %d |\n\n", len(r.subs), r.t.Accepted, refused,
		answers(codes), r.t.Completed, r.t.Lost, r.t.Doubled, r.t.Reruns, r.t.Unexpected, r.ready, r.dead)
	var slowest time.Duration
	for _, x := range r.subs {
		slowest = max(slowest, x.RTT)
	}
	sb.WriteString("| workers | worker kills (kill -9) | worker starts | exits on their own | RabbitMQ down | MinIO down | slowest POST | wall time |\n")
	sb.WriteString("|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(&sb, "| %d | %d | %d | %d | %s s | %s s | %s s | %s s |\n", faultWorkers, kills, starts, own,
		f(r.ch.rabbit.Seconds()), f(r.ch.minioOf.Seconds()), f(slowest.Seconds()), f(r.wall.Seconds()))
	if rs := reasons(r.subs); rs != "" {
		sb.WriteString("\nRefusals, as the user read them:\n\n" + rs)
	}
	return sb.String()
}

// reasons lists the distinct refusals (status and error) with their counts.
func reasons(subs []submission) string {
	count := map[string]int{}
	var order []string
	for _, x := range subs {
		if x.ID != "" {
			continue
		}
		k := fmt.Sprintf("%d %s", x.Status, x.Reason)
		if x.Status == 0 {
			k = fmt.Sprintf("no answer: %v", x.Err)
		}
		if count[k] == 0 {
			order = append(order, k)
		}
		count[k]++
	}
	var sb strings.Builder
	for _, k := range order {
		fmt.Fprintf(&sb, "- %d × `%s`\n", count[k], k)
	}
	return sb.String()
}

// answers lists the HTTP answers other than 202, "503: 12, error: 1".
func answers(codes map[string]int) string {
	var out []string
	for _, k := range []string{"503", "500", "429", "400", "error", "bad answer"} {
		if codes[k] > 0 {
			out = append(out, fmt.Sprintf("%s: %d", k, codes[k]))
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

func (r faultReport) section(seed uint64, load string) string {
	var sb strings.Builder
	sb.WriteString(measured("make chaos", load))
	fmt.Fprintf(&sb, `
%d jobs of one or two images submitted over HTTP at a steady pace (a refused
submission is tried again as a new job), %d workers with the fake fastsdcpu CLI
at %d ms per job. Meanwhile one or two random workers are killed with SIGKILL at
2 s and every 3 s after, and restarted a second later (as Kubernetes would);
RabbitMQ is restarted once (SIGTERM, then started on the same data) and MinIO is
stopped for 10 s once. Then the bucket is listed with minio-go: every accepted job
must have exactly one complete entry (`+"`<id>.json`"+` and images 1..count, nothing
more, metadata naming the job and its prompt). Asserted: lost = 0, doubled = 0.
"Run again" counts entries whose metadata says `+"`attempt`"+` > 1: a job whose worker
died or whose ack was lost ran again and overwrote its own keys, as designed.
"Refused" are the answers other than 202 (RabbitMQ down: the user is told to try
again). "Entries without a 202" are jobs that ran although their submission was
refused: the broker took the message but its confirm was lost with the connection,
so the webui could not know (an unconfirmed publish is not proof of a lost one);
a user who tries again then gets two entries, each under its own id. Seed `+"`E2E_CHAOS_SEED=%d`"+`.

%s
<details><summary>Fault timeline</summary>

`+"```"+`
%s
`+"```"+`
</details>
`, r.jobs, faultWorkers, faultDelayMS, seed, r.table(), strings.Join(r.ch.events, "\n"))
	return sb.String()
}
