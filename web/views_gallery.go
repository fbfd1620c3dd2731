package web

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/web/components"
)

// entryCards are the gallery cards of a page: the entries of one submission
// ("in parallel" jobs share a group) in one card, at the place of its
// newest, their images in submission order (their seeds count up).
func entryCards(entries []gallery.Entry, now time.Time) []components.EntryVM {
	var out []components.EntryVM
	at := map[string]int{} // group -> index in out
	for _, e := range entries {
		g := ""
		if e.Meta != nil {
			g = e.Meta.Group
		}
		if i, ok := at[g]; ok && g != "" {
			out[i] = addToCard(out[i], e)
			continue
		}
		if g != "" {
			at[g] = len(out)
		}
		out = append(out, entryVM(e, now))
	}
	return out
}

// entryVM is the card of one entry.
func entryVM(e gallery.Entry, now time.Time) components.EntryVM {
	m := meta(e)
	r := reuseOfMeta(m)
	set := shotSet(e, m)
	vm := components.EntryVM{
		ID: e.ID, Group: m.Group, Prompt: m.Prompt, Model: m.Model, Lora: m.LoraBaseModel,
		Seeds: set.Seed, Created: e.Modified, Age: Ago(e.Modified, now),
		Sets: []components.ShotSetVM{set}, ReuseURL: r.url(), Details: set.Details,
	}
	if m.Width > 0 && m.Height > 0 {
		vm.Size = fmt.Sprintf("%d × %d", m.Width, m.Height)
	}
	return vm
}

// addToCard puts the images of e into the card of its group.
func addToCard(vm components.EntryVM, e gallery.Entry) components.EntryVM {
	m := meta(e)
	vm.Sets = append(vm.Sets, shotSet(e, m))
	slices.SortStableFunc(vm.Sets, func(a, b components.ShotSetVM) int { return cmp.Compare(seedOrder(a.Seed), seedOrder(b.Seed)) })
	vm.Details = vm.Sets[0].Details // "All settings" is the first set's (its lightbox reads them there)
	var seeds []string
	for _, s := range vm.Sets {
		if s.Seed != "" {
			seeds = append(seeds, s.Seed)
		}
	}
	vm.Seeds = strings.Join(seeds, ", ")
	// Reuse makes the submission again: the first job's seed, one job per
	// entry, in parallel.
	r := reuseOfMeta(meta(e))
	r.Count, r.Parallel, r.Seed = len(vm.Sets), true, nil
	if s, err := strconv.ParseInt(vm.Sets[0].Seed, 10, 64); err == nil {
		r.Seed = &s
	}
	vm.ReuseURL = r.url()
	return vm
}

// seedOrder sorts the sets of a group by seed, unknown seeds last.
func seedOrder(s string) int64 {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	return 1 << 62
}

func shotSet(e gallery.Entry, m *gallery.Meta) components.ShotSetVM {
	seed := ""
	if s, ok := m.SeedUsed(); ok {
		seed = strconv.FormatInt(s, 10)
	}
	r := reuseOfMeta(m)
	ds := r.details(m.Worker, m.Model)
	if m.Generator != "" {
		ds = append(ds, components.Detail{Name: "Generator", Value: m.Generator})
	}
	if m.GenerationSeconds > 0 {
		ds = append(ds, components.Detail{Name: "Generation", Value: components.Duration(time.Duration(m.GenerationSeconds * float64(time.Second)))})
	}
	ds = append(ds, components.Detail{Name: "Made", Value: e.Modified.UTC().Format("2006-01-02 15:04:05 UTC")},
		components.Detail{Name: "Job", Value: e.ID})
	return components.ShotSetVM{ID: e.ID, Seed: seed, Images: imageVMs(e.Images, m.Prompt, seed), Details: ds}
}

// meta is e's metadata, never nil, with the quotes of the old system's
// prompts taken off: its consumer passed jq's quoted output on, which the
// old page hid.
func meta(e gallery.Entry) *gallery.Meta {
	m := e.Meta
	if m == nil {
		return &gallery.Meta{}
	}
	if p := m.Prompt; len(p) >= 2 && p[0] == '"' && p[len(p)-1] == '"' {
		c := *m
		c.Prompt = p[1 : len(p)-1]
		return &c
	}
	return m
}

// Ago says how long ago t was, as people do: "just now", "3 minutes ago".
func Ago(t, now time.Time) string {
	d := now.Sub(t)
	unit := func(n int, one string) string {
		if n == 1 {
			return "1 " + one + " ago"
		}
		return strconv.Itoa(n) + " " + one + "s ago"
	}
	switch {
	case d < 45*time.Second:
		return "just now"
	case d < 90*time.Second:
		return "a minute ago"
	case d < time.Hour:
		return unit(int((d+30*time.Second)/time.Minute), "minute")
	case d < 24*time.Hour:
		return unit(int((d+30*time.Minute)/time.Hour), "hour")
	case d < 30*24*time.Hour:
		return unit(int((d+12*time.Hour)/(24*time.Hour)), "day")
	case d < 365*24*time.Hour:
		return unit(int(d/(30*24*time.Hour)), "month")
	}
	return unit(int(d/(365*24*time.Hour)), "year")
}
