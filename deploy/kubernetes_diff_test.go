package deploy

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// derivativeDiff lists the fields set in want whose values differ in got
// (the API server's defaults aside), as JSON paths.
func derivativeDiff(want, got any) []string {
	var w, g any
	for _, x := range []struct {
		v   any
		out *any
	}{{want, &w}, {got, &g}} {
		b, _ := json.Marshal(x.v)
		_ = json.Unmarshal(b, x.out)
	}
	var out []string
	var walk func(path string, w, g any)
	walk = func(path string, w, g any) {
		switch wv := w.(type) {
		case map[string]any:
			gm, _ := g.(map[string]any)
			for key, v := range wv {
				walk(path+"."+key, v, gm[key])
			}
		case []any:
			gl, _ := g.([]any)
			if len(gl) != len(wv) {
				out = append(out, fmt.Sprintf("%s: %d items, want %d", path, len(gl), len(wv)))
				return
			}
			for i := range wv {
				walk(fmt.Sprintf("%s[%d]", path, i), wv[i], gl[i])
			}
		default:
			if fmt.Sprint(w) != fmt.Sprint(g) {
				out = append(out, fmt.Sprintf("%s: %v, want %v", path, g, w))
			}
		}
	}
	walk("", w, g)
	return out
}

func TestDerivativeDiff(t *testing.T) {
	want := corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "w", Image: "x:1"}}}
	got := want.DeepCopy()
	got.DNSPolicy = corev1.DNSClusterFirst // a default: not a difference
	if d := derivativeDiff(want, got); len(d) != 0 {
		t.Errorf("defaults reported: %v", d)
	}
	got.Containers[0].Image = "x:2"
	got.RestartPolicy = corev1.RestartPolicyOnFailure
	if d := derivativeDiff(want, got); len(d) != 2 {
		t.Errorf("want 2 differences (image, restartPolicy), got %v", d)
	}
	got.Containers = append(got.Containers, corev1.Container{Name: "extra"})
	if d := derivativeDiff(want, got); len(d) != 2 || !strings.Contains(d[1]+d[0], "2 items, want 1") {
		t.Errorf("an extra container not reported: %v", d)
	}
}
