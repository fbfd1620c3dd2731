package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The rabbitmq scaler's metadata keys (KEDA docs, "RabbitMQ Queue"); the API
// type holds metadata as a map, so the strict decode cannot catch a typo there.
var rabbitmqScalerKeys = map[string]bool{
	"host": true, "protocol": true, "mode": true, "value": true, "activationValue": true, "queueName": true,
	"vhostName": true, "hostFromEnv": true, "usernameFromEnv": true, "passwordFromEnv": true, "unsafeSsl": true,
	"timeout": true, "excludeUnacknowledged": true, "useRegex": true, "pageSize": true, "operation": true,
}

func worker(t testing.TB, objs []object, kind string) (object, map[string]any) {
	t.Helper()
	for _, o := range objs {
		if o.Kind == kind && (kind != "Deployment" || o.Name == "stable-diffusion-worker") {
			return o, podSpec(o)
		}
	}
	t.Fatalf("no %s worker", kind)
	return object{}, nil
}

func checkTriggers(t *testing.T, dir string, objs []object, o object, protocol string) {
	for _, tr := range list(get(o.Map, "spec", "triggers")) {
		md, _ := get(tr, "metadata").(map[string]any)
		for k := range md {
			if !rabbitmqScalerKeys[k] {
				t.Errorf("deploy/%s: %s: trigger metadata %q is not a rabbitmq scaler parameter", dir, o, k)
			}
		}
		if str(get(tr, "type")) != "rabbitmq" || str(md["protocol"]) != protocol || str(md["mode"]) != "QueueLength" || str(md["value"]) != "1" {
			t.Errorf("deploy/%s: %s: want a rabbitmq QueueLength trigger, value 1, protocol %s; got %v", dir, o, protocol, md)
		}
		auth := str(get(tr, "authenticationRef", "name"))
		if _, ok := find(objs, "TriggerAuthentication", auth); !ok {
			t.Errorf("deploy/%s: %s uses TriggerAuthentication %q, which the overlay does not contain", dir, o, auth)
		}
	}
}

// The worker's own settings for the shutdown and the job bounds.
func workerTimes(t *testing.T, objs []object) (grace, job time.Duration) {
	cm, _ := find(objs, "ConfigMap", "stable-diffusion-worker")
	grace, err1 := time.ParseDuration(str(get(cm.Map, "data", "SHUTDOWN_GRACE")))
	job, err2 := time.ParseDuration(str(get(cm.Map, "data", "JOB_TIMEOUT")))
	if err1 != nil || err2 != nil {
		t.Fatalf("SHUTDOWN_GRACE / JOB_TIMEOUT: %v %v", err1, err2)
	}
	return grace, job
}

func envValue(c container, name string) string {
	for _, e := range list(c.Map["env"]) {
		if str(get(e, "name")) == name {
			return str(get(e, "value"))
		}
	}
	return ""
}

func seconds(v any) time.Duration {
	n, _ := v.(float64)
	return time.Duration(n) * time.Second
}

func TestScaledJobChoices(t *testing.T) {
	for _, dir := range []string{"overlays/scaledjob", "overlays/scaledjob-gpu"} {
		objs := render(t, dir)
		sj, spec := worker(t, objs, "ScaledJob")
		grace, job := workerTimes(t, objs)
		if s := str(get(sj.Map, "spec", "scalingStrategy", "strategy")); s != "accurate" {
			t.Errorf("deploy/%s: scalingStrategy %q, want accurate (amqp counts ready messages only)", dir, s)
		}
		if len(list(get(sj.Map, "spec", "scalingStrategy", "pendingPodConditions"))) == 0 {
			t.Errorf("deploy/%s: no pendingPodConditions", dir)
		}
		if d := seconds(get(sj.Map, "spec", "jobTargetRef", "activeDeadlineSeconds")); d <= job+grace {
			t.Errorf("deploy/%s: activeDeadlineSeconds %s must exceed JOB_TIMEOUT+SHUTDOWN_GRACE (%s)", dir, d, job+grace)
		}
		if b, ok := get(sj.Map, "spec", "jobTargetRef", "backoffLimit").(float64); !ok || b > 2 {
			t.Errorf("deploy/%s: backoffLimit %v, want a small number (0..2)", dir, get(sj.Map, "spec", "jobTargetRef", "backoffLimit"))
		}
		if str(spec["restartPolicy"]) != "Never" {
			t.Errorf("deploy/%s: restartPolicy %q, want Never", dir, spec["restartPolicy"])
		}
		if g := seconds(spec["terminationGracePeriodSeconds"]); g <= grace {
			t.Errorf("deploy/%s: terminationGracePeriodSeconds %s must exceed SHUTDOWN_GRACE %s", dir, g, grace)
		}
		_, workers := ours(objs)
		if len(workers) != 1 || len(list(spec["containers"])) != 1 || envValue(workers[0], "EXIT_AFTER_ONE_TASK") != "1" {
			t.Errorf("deploy/%s: a Job runs one worker container (no sidecar) with EXIT_AFTER_ONE_TASK=1", dir)
		}
		checkTriggers(t, dir, objs, sj, "amqp")
	}
}

func TestScaledObjectChoices(t *testing.T) {
	for _, dir := range []string{"overlays/scaledobject", "overlays/scaledobject-gpu"} {
		objs := render(t, dir)
		so, _ := worker(t, objs, "ScaledObject")
		dep, spec := worker(t, objs, "Deployment")
		grace, _ := workerTimes(t, objs)
		if name := str(get(so.Map, "spec", "scaleTargetRef", "name")); name != dep.Name {
			t.Errorf("deploy/%s: the ScaledObject scales %q, the worker Deployment is %q", dir, name, dep.Name)
		}
		if get(dep.Map, "spec", "replicas") != nil {
			t.Errorf("deploy/%s: the worker Deployment sets replicas; KEDA owns them", dir)
		}
		if m, ok := get(so.Map, "spec", "minReplicaCount").(float64); !ok || m != 0 {
			t.Errorf("deploy/%s: minReplicaCount should be 0 (scale to zero)", dir)
		}
		if g := seconds(spec["terminationGracePeriodSeconds"]); g <= grace {
			t.Errorf("deploy/%s: terminationGracePeriodSeconds %s must exceed SHUTDOWN_GRACE %s", dir, g, grace)
		}
		_, workers := ours(objs)
		if len(workers) != 1 || envValue(workers[0], "EXIT_AFTER_ONE_TASK") != "0" {
			t.Errorf("deploy/%s: the Deployment's worker loops: EXIT_AFTER_ONE_TASK=0", dir)
		}
		// http: unacked (in-progress) messages count, so busy workers are not scaled away.
		checkTriggers(t, dir, objs, so, "http")
	}
}

func TestGPUVariants(t *testing.T) {
	for _, dir := range appOverlays(t) {
		gpu := strings.HasSuffix(dir, "-gpu")
		objs := render(t, dir)
		cm, _ := find(objs, "ConfigMap", "stable-diffusion-worker")
		wantDevice := map[bool]string{true: "cuda", false: "cpu"}[gpu]
		if d := str(get(cm.Map, "data", "DEVICE")); d != wantDevice {
			t.Errorf("deploy/%s: DEVICE=%q, want %q", dir, d, wantDevice)
		}
		_, workers := ours(objs)
		for _, c := range workers {
			spec := podSpec(c.Owner)
			tolerates := false
			for _, tol := range list(spec["tolerations"]) {
				tolerates = tolerates || fmt.Sprintf("%v=%v:%v", get(tol, "key"), get(tol, "value"), get(tol, "effect")) == "nvidia.com/gpu=present:NoSchedule"
			}
			limit := get(c.Map, "resources", "limits", "nvidia.com/gpu")
			cuda := strings.HasSuffix(c.Image(), "-cuda")
			if tolerates != gpu || (limit != nil) != gpu || cuda != gpu {
				t.Errorf("deploy/%s: %s: toleration %v, nvidia.com/gpu limit %v, CUDA image %v; want all %v", dir, c.Owner, tolerates, limit, cuda, gpu)
			}
		}
	}
}

// Each scaling choice in the worker manifests carries its reason: the line
// before it is a comment.
func TestScalingChoicesAreExplained(t *testing.T) {
	keys := []string{"strategy: accurate", "pendingPodConditions:", "activeDeadlineSeconds:", "backoffLimit:",
		"protocol: amqp", "protocol: http", "cooldownPeriod:", "terminationGracePeriodSeconds:", "pollingInterval:", "maxReplicaCount:"}
	files, _ := filepath.Glob("worker/*/*.yaml")
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i, line := range lines {
			for _, k := range keys {
				if strings.HasPrefix(strings.TrimSpace(line), k) {
					seen[k] = true
					if i == 0 || !strings.HasPrefix(strings.TrimSpace(lines[i-1]), "#") {
						t.Errorf("%s:%d: %q has no reason comment on the line above", f, i+1, strings.TrimSpace(line))
					}
				}
			}
		}
	}
	for _, k := range keys {
		if !seen[k] {
			t.Errorf("no worker manifest sets %q", k)
		}
	}
}

// One KEDA throughout: the chart deploy-keda installs, the Go types the
// manifests are decoded with, and the operator the API server test runs
// (see deploy/README.md, "KEDA's version").
func TestKEDAVersionsAgree(t *testing.T) {
	chart := ""
	for _, line := range strings.Split(readFile(t, "deploy.mk"), "\n") {
		if name, value, ok := strings.Cut(line, "?="); ok && strings.TrimSpace(name) == "KEDA_VERSION" {
			chart = "v" + strings.TrimSpace(value)
		}
	}
	decoded := requiredVersion(t, "go.mod", "github.com/kedacore/keda/v2")
	operator := requiredVersion(t, filepath.Join("controlplane", "tools", "keda", "go.mod"), "github.com/kedacore/keda/v2")
	if chart == "v" || chart != decoded || chart != operator {
		t.Errorf("KEDA_VERSION in deploy.mk %s, the decoding types (deploy/go.mod) %s, the test's operator (controlplane/tools/keda) %s: make them one version",
			chart, decoded, operator)
	}
	if out := runMake(t, "-n", "deploy-keda"); !strings.Contains(out, "--version "+strings.TrimPrefix(chart, "v")+" ") {
		t.Errorf("make -n deploy-keda does not install chart %s:\n%s", chart, out)
	}
}

// requiredVersion is the version of module that the go.mod at path
// requires (a require line, alone or in a block).
func requiredVersion(t *testing.T, path, module string) string {
	t.Helper()
	for _, line := range strings.Split(readFile(t, path), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(f) >= 2 && f[0] == module {
			return f[1]
		}
	}
	t.Fatalf("%s does not require %s", path, module)
	return ""
}
