package deploy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The part of PEP 440 the Python lock needs: versions (release, pre, post,
// dev, local) and the specifiers ==, !=, <, <=, >, >=, ~= with == / != wildcards.

type pyVersion struct {
	release []int
	pre     [2]int // kind (0 a, 1 b, 2 rc; 3 none), number
	post    int    // -1: none
	dev     int    // -1: none
	local   string
}

var pyVersionRE = regexp.MustCompile(`^v?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|rc|alpha|beta|c)[-_.]?(\d*))?(?:[-_.]?(?:post|rev|r)[-_.]?(\d*))?(?:[-_.]?dev[-_.]?(\d*))?(?:\+([a-z0-9.]+))?$`)

func parsePyVersion(s string) (pyVersion, error) {
	m := pyVersionRE.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return pyVersion{}, fmt.Errorf("%q is not a PEP 440 version", s)
	}
	v := pyVersion{pre: [2]int{3, 0}, post: -1, dev: -1, local: m[6]}
	for _, p := range strings.Split(m[1], ".") {
		n, _ := strconv.Atoi(p)
		v.release = append(v.release, n)
	}
	if m[2] != "" {
		kind := map[string]int{"a": 0, "alpha": 0, "b": 1, "beta": 1, "rc": 2, "c": 2}[m[2]]
		n, _ := strconv.Atoi(m[3])
		v.pre = [2]int{kind, n}
	}
	if strings.Contains(strings.ToLower(s), "post") || strings.Contains(strings.ToLower(s), "rev") {
		v.post, _ = strconv.Atoi(m[4])
	}
	if strings.Contains(strings.ToLower(s), "dev") {
		v.dev, _ = strconv.Atoi(m[5])
	}
	return v, nil
}

func cmpInts(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compare orders two versions, local labels ignored.
func (v pyVersion) compare(w pyVersion) int {
	for i := 0; i < max(len(v.release), len(w.release)); i++ {
		a, b := 0, 0
		if i < len(v.release) {
			a = v.release[i]
		}
		if i < len(w.release) {
			b = w.release[i]
		}
		if c := cmpInts(a, b); c != 0 {
			return c
		}
	}
	// A dev release without pre or post sorts before every pre-release.
	pre := func(x pyVersion) [2]int {
		if x.pre[0] == 3 && x.post < 0 && x.dev >= 0 {
			return [2]int{-1, 0}
		}
		return x.pre
	}
	pv, pw := pre(v), pre(w)
	if c := cmpInts(pv[0], pw[0]); c != 0 {
		return c
	}
	if c := cmpInts(pv[1], pw[1]); c != 0 {
		return c
	}
	if c := cmpInts(v.post, w.post); c != 0 {
		return c
	}
	// No dev part sorts after any dev part.
	dv, dw := v.dev, w.dev
	if dv < 0 {
		dv = int(^uint(0) >> 1)
	}
	if dw < 0 {
		dw = int(^uint(0) >> 1)
	}
	return cmpInts(dv, dw)
}

// satisfies reports whether version meets every comma-separated clause of spec
// (e.g. ">=1.7.4,!=1.8,<3.0.0"); an empty spec accepts any version.
func satisfies(version, spec string) (bool, error) {
	v, err := parsePyVersion(version)
	if err != nil {
		return false, err
	}
	for _, clause := range strings.Split(spec, ",") {
		clause = strings.TrimSpace(clause)
		if clause == "" {
			continue
		}
		op := ""
		for _, o := range []string{"===", "~=", "==", "!=", "<=", ">=", "<", ">"} {
			if strings.HasPrefix(clause, o) {
				op = o
				break
			}
		}
		if op == "" {
			return false, fmt.Errorf("specifier %q has no operator", clause)
		}
		target := strings.TrimSpace(clause[len(op):])
		ok, err := clauseHolds(v, version, op, target)
		if err != nil {
			return false, fmt.Errorf("specifier %q: %w", clause, err)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

func clauseHolds(v pyVersion, raw, op, target string) (bool, error) {
	if op == "===" {
		return raw == target, nil
	}
	if (op == "==" || op == "!=") && strings.HasSuffix(target, ".*") {
		prefix, err := parsePyVersion(strings.TrimSuffix(target, ".*"))
		if err != nil {
			return false, err
		}
		match := len(v.release) >= len(prefix.release)
		for i := 0; match && i < len(prefix.release); i++ {
			match = v.release[i] == prefix.release[i]
		}
		return match == (op == "=="), nil
	}
	w, err := parsePyVersion(target)
	if err != nil {
		return false, err
	}
	c := v.compare(w)
	switch op {
	case "==":
		// A specifier without a local label matches any local label.
		return c == 0 && (w.local == "" || w.local == v.local), nil
	case "!=":
		return !(c == 0 && (w.local == "" || w.local == v.local)), nil
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	case ">=":
		return c >= 0, nil
	case "~=":
		if len(w.release) < 2 {
			return false, fmt.Errorf("~= needs at least two release numbers")
		}
		// ~=X.Y.Z means >=X.Y.Z and below X.(Y+1), pre-releases included.
		upper := pyVersion{release: append(append([]int(nil), w.release[:len(w.release)-2]...), w.release[len(w.release)-2]+1), pre: [2]int{0, 0}, post: -1, dev: 0}
		return c >= 0 && v.compare(upper) < 0, nil
	}
	return false, fmt.Errorf("unknown operator %q", op)
}

func TestPEP440(t *testing.T) {
	cases := []struct {
		version, spec string
		want          bool
	}{
		{"2.2.2+cu121", "==2.2.2", true},
		{"2.2.2", "==2.2.2+cpu", false},
		{"1.26.4", "<2.0.0,>=1.16.6", true},
		{"2.0.0", "<2.0.0", false},
		{"4.39.3", ">=4.36.0,<4.40.0", true},
		{"4.40.0", ">=4.36.0,<4.40.0", false},
		{"1.18.1", "~=1.18", true},
		{"2.0", "~=1.18", false},
		{"2.1.5", "~=2.0", true},
		{"4.9.3", "==4.9.*", true},
		{"4.10.0", "==4.9.*", false},
		{"3.12.14", "!=4.0.0a0,!=4.0.0a1", true},
		{"4.0.0a1", "!=4.0.0a0,!=4.0.0a1", false},
		{"2.9.0.post0", ">=2.8.2", true},
		{"2.9.0.post0", "==2.9.0", false},
		{"1.0.0rc1", "<1.0.0", true},
		{"1.0.0.dev1", "<1.0.0a1", true},
		{"0.3.8", ">=0.3.0,<0.3.9", true},
		{"1.2", ">=1.2.0", true},
		{"2.4.2", ">=1.7.4,!=1.8,!=1.8.1,!=2.0.0,!=2.0.1,!=2.1.0,<3.0.0", true},
		{"2.1.0", ">=1.7.4,!=1.8,!=1.8.1,!=2.0.0,!=2.0.1,!=2.1.0,<3.0.0", false},
		{"1.0.9", "==1.*", true},
		{"0.12.0", "", true},
	}
	for _, c := range cases {
		got, err := satisfies(c.version, c.spec)
		if err != nil || got != c.want {
			t.Errorf("satisfies(%q, %q) = %v, %v; want %v", c.version, c.spec, got, err, c.want)
		}
	}
	if _, err := satisfies("1.0", "1.0"); err == nil {
		t.Error("a specifier without an operator is accepted")
	}
}
