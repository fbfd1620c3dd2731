package job

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/sdkeda/sdkeda/internal/testenv"
)

// argparseProbe parses `--prompt=V --negative_prompt=V` for every V on stdin
// (a JSON list) with argparse, declared as fastsdcpu declares the two flags,
// and prints whether each came back verbatim.
const argparseProbe = `
import argparse, json, sys
p = argparse.ArgumentParser()
p.add_argument("--prompt", type=str, default="")
p.add_argument("--negative_prompt", type=str, default="")
p.add_argument("-f", "--file", type=str, default="")
p.add_argument("--number_of_images", type=int, default=1)
out = []
for v in json.load(sys.stdin):
    try:
        a = p.parse_args(["--prompt=" + v, "--negative_prompt=" + v, "--number_of_images=1"])
        out.append(a.prompt == v and a.negative_prompt == v)
    except SystemExit:
        out.append(False)
print(json.dumps(out))
`

// ArgvSafe agrees with Python's own argparse: on hand-picked values and on
// every text of up to four characters from the characters argparse treats
// specially.
func TestArgvSafeAgreesWithArgparse(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Unavailable(t, "python3: %v", err)
	}
	values := []string{"--", "-", "---", "-- ", " --", "--=", "=", "a=b", "-f", "--file", "--prompt",
		"--prompt=x", "-- a", "a --", "@x", "-1", "-1e5", "-.5", "%(default)s", "%s", "—", "\u00a0--", "-h", "--help"}
	alphabet := []string{"-", "=", "@", " ", "a", "%"}
	var grow func(prefix string, n int)
	grow = func(prefix string, n int) {
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			values = append(values, prefix+c)
			grow(prefix+c, n-1)
		}
	}
	grow("", 4)
	in, _ := json.Marshal(values)
	cmd := exec.Command(py, "-c", argparseProbe)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var verbatim []bool
	if err := json.Unmarshal(out, &verbatim); err != nil || len(verbatim) != len(values) {
		t.Fatalf("python3 said %q (%v)", out, err)
	}
	unsafe := 0
	for i, v := range values {
		if ArgvSafe(v) != verbatim[i] {
			t.Errorf("%q: ArgvSafe %v, argparse takes it verbatim: %v", v, ArgvSafe(v), verbatim[i])
		}
		if !verbatim[i] {
			unsafe++
		}
	}
	t.Logf("%d values, %d that argparse does not take verbatim", len(values), unsafe)
}
