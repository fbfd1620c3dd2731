package gallery

import (
	"fmt"
	"strings"
	"testing"
)

// The cache is bounded by the bytes its entries hold as well as by their
// count: a bucket of prompts at the limit does not grow it past its budget.
func TestMetaCacheKeepsToItsBudget(t *testing.T) {
	t.Parallel()
	c := newMetaCache(2000, 1<<20)
	big := &Meta{Prompt: strings.Repeat("€", 1000), NegativePrompt: strings.Repeat("€", 1000)}
	for i := range 2000 {
		c.add(fmt.Sprint(i), 1, big)
	}
	n, bytes := c.len()
	if bytes > 1<<20 || n != (1<<20)/(big.size()+4) {
		t.Errorf("%d entries of %d bytes, %d bytes in all", n, big.size(), bytes)
	}
	if _, ok := c.get("1999", 1); !ok {
		t.Error("the newest is gone")
	}
	if _, ok := c.get("0", 1); ok {
		t.Error("the oldest is still there")
	}
	// Replacing and removing entries keeps the count of bytes right.
	c.add("1999", 2, &Meta{})
	c.remove("1998")
	n, bytes = c.len()
	sum := 0
	for e := c.ll.Front(); e != nil; e = e.Next() {
		sum += e.Value.(*cached).size
	}
	if bytes != sum || n != c.ll.Len() {
		t.Errorf("counted %d bytes, holds %d", bytes, sum)
	}
	// Small entries: the count bounds it.
	c = newMetaCache(10, 1<<20)
	for i := range 100 {
		c.add(fmt.Sprint(i), 1, &Meta{Prompt: "p"})
	}
	if n, _ := c.len(); n != 10 {
		t.Errorf("%d entries, want 10", n)
	}
}
