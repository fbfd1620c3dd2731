package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The worker image's Python lock (tweaks/lock) checked as far as it can be
// without PyPI: every line pinned with ==, nothing twice, every declared
// requirement of every locked package (tweaks/lock/metadata.txt) locked in
// each variant at a version that satisfies it, nothing locked that no direct
// requirement needs, and the direct requirements at their locked versions.

// pin is one locked package.
type pin struct {
	Name, Version, Where string
}

var (
	pinRE     = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][A-Za-z0-9.+!_-]*)$`)
	reqRE     = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?(.*)$`)
	normRE    = regexp.MustCompile(`[-_.]+`)
	lockFiles = map[string][]string{"cpu": {"torch.txt", "common.txt"}, "cuda": {"torch.txt", "common.txt", "cuda.txt"}}
)

// pyName is the normalized name of a Python distribution (PEP 503).
func pyName(s string) string { return normRE.ReplaceAllString(strings.ToLower(s), "-") }

// pinFile reads name==version lines; comments and blank lines are skipped,
// anything else is a problem.
func pinFile(path, text string) ([]pin, []string) {
	var pins []pin
	var problems []string
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := pinRE.FindStringSubmatch(line)
		if m == nil {
			problems = append(problems, fmt.Sprintf("%s:%d: %q is not name==version (no ranges, extras, markers or options)", path, i+1, line))
			continue
		}
		pins = append(pins, pin{Name: pyName(m[1]), Version: m[2], Where: fmt.Sprintf("%s:%d", path, i+1)})
	}
	return pins, problems
}

// requirement is one declared requirement: a name and its specifiers.
type requirement struct{ Name, Spec string }

// lockMeta is metadata.txt: per package, its version and requirements,
// and per variant the requirements it adds.
type lockMeta struct {
	Version map[string]string
	Reqs    map[string][]requirement            // every variant
	Variant map[string]map[string][]requirement // variant -> package -> extra requirements
}

func parseMetadata(text string) (lockMeta, []string) {
	meta := lockMeta{Version: map[string]string{}, Reqs: map[string][]requirement{}, Variant: map[string]map[string][]requirement{}}
	var problems []string
	for i, line := range strings.Split(text, "\n") {
		if j := strings.Index(line, "#"); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		head, body, ok := strings.Cut(line, ":")
		if !ok {
			problems = append(problems, fmt.Sprintf("metadata.txt:%d: no ':' after name==version", i+1))
			continue
		}
		fields := strings.Fields(head)
		variant := ""
		if len(fields) == 2 && strings.HasPrefix(fields[1], "[") && strings.HasSuffix(fields[1], "]") {
			variant = strings.Trim(fields[1], "[]")
		} else if len(fields) != 1 {
			problems = append(problems, fmt.Sprintf("metadata.txt:%d: %q is not name==version [variant]", i+1, head))
			continue
		}
		m := pinRE.FindStringSubmatch(fields[0])
		if m == nil {
			problems = append(problems, fmt.Sprintf("metadata.txt:%d: %q is not name==version", i+1, fields[0]))
			continue
		}
		name := pyName(m[1])
		var reqs []requirement
		for _, r := range strings.Fields(body) {
			rm := reqRE.FindStringSubmatch(r)
			if rm == nil || rm[2] != "" {
				problems = append(problems, fmt.Sprintf("metadata.txt:%d: requirement %q: write an extra's requirements out instead of name[extra]", i+1, r))
				continue
			}
			reqs = append(reqs, requirement{Name: pyName(rm[1]), Spec: rm[3]})
		}
		if variant != "" {
			if meta.Variant[variant] == nil {
				meta.Variant[variant] = map[string][]requirement{}
			}
			meta.Variant[variant][name] = append(meta.Variant[variant][name], reqs...)
			if v, ok := meta.Version[name]; ok && v != m[2] {
				problems = append(problems, fmt.Sprintf("metadata.txt:%d: %s [%s] at %s, its main line says %s", i+1, name, variant, m[2], v))
			}
			continue
		}
		if _, dup := meta.Version[name]; dup {
			problems = append(problems, fmt.Sprintf("metadata.txt:%d: %s is described twice", i+1, name))
		}
		meta.Version[name] = m[2]
		meta.Reqs[name] = reqs
	}
	return meta, problems
}

// lockSet is what one variant installs, by name.
type lockSet map[string]pin

// checkLock returns every problem of the lock whose files read returns (by
// name in tweaks/lock), given the direct requirements file's text.
func checkLock(read func(name string) string, direct string) []string {
	meta, problems := parseMetadata(read("metadata.txt"))
	sets := map[string]lockSet{}
	for _, variant := range sortedKeys(lockFiles) {
		set := lockSet{}
		for _, f := range lockFiles[variant] {
			pins, ps := pinFile("lock/"+f, read(f))
			problems = append(problems, ps...)
			for _, p := range pins {
				if prev, dup := set[p.Name]; dup {
					problems = append(problems, fmt.Sprintf("%s: %s is locked again (first at %s)", p.Where, p.Name, prev.Where))
					continue
				}
				set[p.Name] = p
			}
		}
		sets[variant] = set
	}

	described := map[string]bool{}
	for _, variant := range sortedKeys(sets) {
		set := sets[variant]
		for _, name := range sortedKeys(set) {
			p := set[name]
			described[name] = true
			v, ok := meta.Version[name]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("%s: %s has no line in metadata.txt (its requirements are unknown)", p.Where, name))
				continue
			case v != p.Version:
				problems = append(problems, fmt.Sprintf("%s: %s==%s, metadata.txt describes %s", p.Where, name, p.Version, v))
			}
			reqs := append(append([]requirement(nil), meta.Reqs[name]...), meta.Variant[variant][name]...)
			for _, r := range reqs {
				dep, ok := set[r.Name]
				if !ok {
					problems = append(problems, fmt.Sprintf("%s variant: %s requires %s%s, which is not locked", variant, name, r.Name, r.Spec))
					continue
				}
				okSpec, err := satisfies(dep.Version, r.Spec)
				if err != nil {
					problems = append(problems, fmt.Sprintf("metadata.txt: %s requires %s%s: %v", name, r.Name, r.Spec, err))
				} else if !okSpec {
					problems = append(problems, fmt.Sprintf("%s variant: %s requires %s%s, the lock has %s (%s)", variant, name, r.Name, r.Spec, dep.Version, dep.Where))
				}
			}
		}
	}
	for _, name := range sortedKeys(meta.Version) {
		if !described[name] {
			problems = append(problems, fmt.Sprintf("metadata.txt: %s is described but locked in no variant", name))
		}
	}

	// The direct requirements are locked at their own versions; from them
	// (and torch) every locked package is reached.
	roots := []string{"torch"}
	directPins, ps := pinFile("requirements.txt", direct)
	problems = append(problems, ps...)
	for _, d := range directPins {
		roots = append(roots, d.Name)
		if p, ok := sets["cpu"][d.Name]; !ok {
			problems = append(problems, fmt.Sprintf("%s: %s is not in the lock", d.Where, d.Name))
		} else if p.Version != d.Version {
			problems = append(problems, fmt.Sprintf("%s: %s==%s, the lock has %s (%s)", d.Where, d.Name, d.Version, p.Version, p.Where))
		}
	}
	for _, variant := range sortedKeys(sets) {
		set := sets[variant]
		reached := map[string]bool{}
		queue := append([]string(nil), roots...)
		for len(queue) > 0 {
			n := queue[0]
			queue = queue[1:]
			if reached[n] {
				continue
			}
			reached[n] = true
			for _, r := range append(append([]requirement(nil), meta.Reqs[n]...), meta.Variant[variant][n]...) {
				queue = append(queue, r.Name)
			}
		}
		for _, name := range sortedKeys(set) {
			if !reached[name] {
				problems = append(problems, fmt.Sprintf("%s variant: %s (%s) is needed by no direct requirement", variant, name, set[name].Where))
			}
		}
	}
	// What both variants share is reported once.
	return uniq(problems)
}

func uniq(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func TestPythonLockIsConsistent(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "tweaks")
	read := func(name string) string { return readFile(t, filepath.Join(dir, "lock", name)) }
	for _, p := range checkLock(read, readFile(t, filepath.Join(dir, "requirements.txt"))) {
		t.Error(p)
	}
	// The CPU set is the CUDA set minus the CUDA libraries, nothing else.
	cuda, _ := pinFile("lock/cuda.txt", read("cuda.txt"))
	for _, p := range cuda {
		if !strings.HasPrefix(p.Name, "nvidia-") && p.Name != "triton" {
			t.Errorf("%s: %s is in the CUDA-only part of the lock; both variants must share it (common.txt)", p.Where, p.Name)
		}
	}
	torch, _ := pinFile("lock/torch.txt", read("torch.txt"))
	if len(torch) != 1 || torch[0].Name != "torch" {
		t.Errorf("lock/torch.txt must hold torch alone (it is installed from the variant's index), got %v", torch)
	}
}

// The checker catches what it claims to catch.
func TestPythonLockCheckCatchesMistakes(t *testing.T) {
	good := map[string]string{
		"torch.txt":  "torch==2.2.2\n",
		"common.txt": "a==1.0\nb==2.0\n",
		"cuda.txt":   "nvidia-x==12.1\n",
		"metadata.txt": "torch==2.2.2: b\ntorch==2.2.2 [cuda]: nvidia-x==12.1\n" +
			"a==1.0: b>=2.0,<3\nb==2.0:\nnvidia-x==12.1:\n",
	}
	cases := []struct {
		name   string
		change map[string]string
		direct string
		want   string
	}{
		{"good", nil, "a==1.0\n", ""},
		{"unpinned", map[string]string{"common.txt": "a>=1.0\nb==2.0\n"}, "a==1.0\n", "is not name==version"},
		{"twice across files", map[string]string{"cuda.txt": "nvidia-x==12.1\na==1.0\n"}, "a==1.0\n", "a is locked again"},
		{"unsatisfied", map[string]string{"common.txt": "a==1.0\nb==3.0\n", "metadata.txt": strings.Replace(good["metadata.txt"], "b==2.0:", "b==3.0:", 1)}, "a==1.0\n", "a requires b>=2.0,<3, the lock has 3.0"},
		{"missing dependency", map[string]string{"common.txt": "a==1.0\n"}, "a==1.0\n", "requires b>=2.0,<3, which is not locked"},
		{"missing in one variant", map[string]string{"cuda.txt": ""}, "a==1.0\n", "cuda variant: torch requires nvidia-x==12.1, which is not locked"},
		{"orphan", map[string]string{"common.txt": "a==1.0\nb==2.0\nc==1\n", "metadata.txt": good["metadata.txt"] + "c==1:\n"}, "a==1.0\n", "c (lock/common.txt:3) is needed by no direct requirement"},
		{"undescribed", map[string]string{"common.txt": "a==1.0\nb==2.0\nc==1\n"}, "a==1.0\nc==1\n", "c has no line in metadata.txt"},
		{"version drift", nil, "a==1.1\n", "a==1.1, the lock has 1.0"},
		{"extra not written out", map[string]string{"metadata.txt": strings.Replace(good["metadata.txt"], "a==1.0: b>=2.0,<3", "a==1.0: b[x]>=2.0,<3", 1)}, "a==1.0\n", "write an extra's requirements out"},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			files := map[string]string{}
			for k, v := range good {
				files[k] = v
			}
			for k, v := range c.change {
				files[k] = v
			}
			problems := checkLock(func(name string) string { return files[name] }, c.direct)
			got := strings.Join(problems, "\n")
			if c.want == "" {
				if len(problems) > 0 {
					t.Errorf("a good lock has problems:\n%s", got)
				}
				return
			}
			if !strings.Contains(got, c.want) {
				t.Errorf("want a problem containing %q, got:\n%s", c.want, got)
			}
		})
	}
}

// The lock files are the only requirement files in tweaks/lock, and each is
// named in this test: a new file the Dockerfile installs must be checked too.
func TestPythonLockFilesAreKnown(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join(repoRoot(t), "tweaks", "lock"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{"metadata.txt": true}
	for _, fs := range lockFiles {
		for _, f := range fs {
			known[f] = true
		}
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		if !known[e.Name()] {
			t.Errorf("tweaks/lock/%s is not checked by lock_test.go (lockFiles)", e.Name())
		}
	}
	sort.Strings(names)
	if len(names) != len(known) {
		t.Errorf("tweaks/lock holds %v; want %v", names, sortedKeys(known))
	}
}
