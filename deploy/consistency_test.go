package deploy

import (
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	yamlv3 "go.yaml.in/yaml/v3"
)

const (
	webuiImage  = "ghcr.io/sdkeda/stable-diffusion-webui"
	workerImage = "ghcr.io/sdkeda/stable-diffusion-worker"
	namespace   = "stable-diff"
	sharedCM    = "stable-diffusion" // the ConfigMap both programs read
)

// Set in the images for Python and Hugging Face, not for the Go programs.
var thirdPartyEnv = map[string]bool{
	"PATH": true, "HOME": true, "VIRTUAL_ENV": true, "HF_HOME": true, "HF_HUB_OFFLINE": true,
	"LD_LIBRARY_PATH": true, "NVIDIA_DRIVER_CAPABILITIES": true,
	"PYTHONUNBUFFERED": true, "PYTHONDONTWRITEBYTECODE": true, "PIP_NO_CACHE_DIR": true, "PIP_DISABLE_PIP_VERSION_CHECK": true,
}

// configDefault is the default the programs give a variable: the literal
// beside its name in ../internal/config, e.g. r.str("QUEUE_NAME", "tasks").
func configDefault(t testing.TB, name string) string {
	t.Helper()
	re := regexp.MustCompile(`"` + name + `",\s*"([^"]*)"`)
	files, _ := filepath.Glob(filepath.Join(repoRoot(t), "internal", "config", "*.go"))
	for _, f := range files {
		if m := re.FindStringSubmatch(readFile(t, f)); m != nil && !strings.HasSuffix(f, "_test.go") {
			return m[1]
		}
	}
	t.Errorf("internal/config gives %s no string default", name)
	return ""
}

// ours are the containers that run the product's own images.
func ours(objs []object) (webui, worker []container) {
	for _, c := range containers(objs) {
		switch imageRepo(c.Image()) {
		case webuiImage:
			webui = append(webui, c)
		case workerImage:
			worker = append(worker, c)
		}
	}
	return webui, worker
}

// env is what a container gets: its env entries and every key of the
// ConfigMaps it takes with envFrom. Values of secret or field refs are "".
func env(t testing.TB, objs []object, c container) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, from := range list(c.Map["envFrom"]) {
		name := str(get(from, "configMapRef", "name"))
		cm, ok := find(objs, "ConfigMap", name)
		if !ok {
			t.Errorf("%s: container %s takes ConfigMap %q, which the overlay does not contain", c.Owner, c.Name(), name)
			continue
		}
		for k, v := range cm.Map["data"].(map[string]any) {
			out[k] = str(v)
		}
	}
	for _, e := range list(c.Map["env"]) {
		out[str(get(e, "name"))] = str(get(e, "value"))
	}
	return out
}

func TestEnvVarsAreReadByThePrograms(t *testing.T) {
	names := configEnvNames(t)
	for _, dir := range appOverlays(t) {
		objs := render(t, dir)
		webui, worker := ours(objs)
		if len(webui) == 0 || len(worker) == 0 {
			t.Fatalf("deploy/%s: want webui and worker containers, got %d and %d", dir, len(webui), len(worker))
		}
		for _, c := range append(webui, worker...) {
			for _, k := range sortedKeys(env(t, objs, c)) {
				if !names[k] {
					t.Errorf("deploy/%s: %s sets %s, which the programs do not read (internal/config)", dir, c.Owner, k)
				}
			}
		}
	}
	for _, name := range dockerfiles {
		d := parseDockerfile(t, name)
		for _, st := range d.Stages {
			for _, cmd := range st.Commands {
				if e, ok := cmd.(*instructions.EnvCommand); ok {
					for _, kv := range e.Env {
						if !thirdPartyEnv[kv.Key] && !names[kv.Key] {
							t.Errorf("%s: ENV %s is not read by the programs (internal/config) nor a known Python/Hugging Face variable", name, kv.Key)
						}
					}
				}
			}
		}
	}
}

// Both programs declare the queue with its delivery limit and check jobs
// against the same limits, and the webui counts a worker lost after three
// of its heartbeats: they must read the same queue settings, job limits and
// WORKER_HEARTBEAT, from the same ConfigMap, and nothing may override them.
func TestBothProgramsShareTheQueueSettings(t *testing.T) {
	shared := []string{"QUEUE_NAME", "DELIVERY_LIMIT", "MAX_FAILURES", "WORKER_HEARTBEAT", "MINIO_ENDPOINT", "MINIO_BUCKET",
		"MAX_PROMPT_LENGTH", "MAX_IMAGES", "MAX_IMAGE_SIZE", "MAX_STEPS"}
	for _, dir := range appOverlays(t) {
		objs := render(t, dir)
		cm, ok := find(objs, "ConfigMap", sharedCM)
		if !ok {
			t.Fatalf("deploy/%s: no ConfigMap %s", dir, sharedCM)
		}
		for _, k := range shared {
			if str(get(cm.Map, "data", k)) == "" {
				t.Errorf("deploy/%s: ConfigMap %s does not set %s", dir, sharedCM, k)
			}
		}
		webui, worker := ours(objs)
		for _, c := range append(webui, worker...) {
			takes := false
			for _, from := range list(c.Map["envFrom"]) {
				takes = takes || str(get(from, "configMapRef", "name")) == sharedCM
			}
			if !takes {
				t.Errorf("deploy/%s: %s does not take ConfigMap %s", dir, c.Owner, sharedCM)
			}
			for k, v := range env(t, objs, c) {
				for _, s := range shared {
					if k == s && v != str(get(cm.Map, "data", s)) {
						t.Errorf("deploy/%s: %s overrides %s=%q (shared value %q)", dir, c.Owner, k, v, str(get(cm.Map, "data", s)))
					}
				}
			}
		}
	}
}

func TestQueueNameAgrees(t *testing.T) {
	want := configDefault(t, "QUEUE_NAME")
	for _, dir := range appOverlays(t) {
		objs := render(t, dir)
		cm, _ := find(objs, "ConfigMap", sharedCM)
		published := str(get(cm.Map, "data", "QUEUE_NAME"))
		if published != want {
			t.Errorf("deploy/%s: QUEUE_NAME=%q, the programs' default is %q", dir, published, want)
		}
		triggers := 0
		for _, o := range objs {
			for _, tr := range list(get(o.Map, "spec", "triggers")) {
				triggers++
				if q := str(get(tr, "metadata", "queueName")); q != published {
					t.Errorf("deploy/%s: %s triggers on queue %q, the programs use QUEUE_NAME=%q", dir, o, q, published)
				}
			}
		}
		if triggers == 0 {
			t.Errorf("deploy/%s: no KEDA trigger", dir)
		}
	}
}

// secretsMade are the Secrets deploy.mk creates, itself or through the
// scripts it runs (scripts/*.sh), with their keys.
func secretsMade(t testing.TB) map[string]map[string]bool {
	t.Helper()
	text := readFile(t, "deploy.mk")
	scripts, err := filepath.Glob(filepath.Join("scripts", "*.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scripts {
		if strings.Contains(text, "deploy/"+s) {
			text += "\n" + readFile(t, s)
		}
	}
	mk := strings.ReplaceAll(text, "\\\n", " ")
	made := map[string]map[string]bool{}
	for _, line := range strings.Split(mk, "\n") {
		for _, m := range regexp.MustCompile(`create secret generic (\S+)(.*)`).FindAllStringSubmatch(line, -1) {
			keys := map[string]bool{}
			for _, k := range regexp.MustCompile(`--from-literal=([A-Za-z0-9_.-]+)=`).FindAllStringSubmatch(m[2], -1) {
				keys[k[1]] = true
			}
			made[m[1]] = keys
		}
	}
	return made
}

func TestSecretsAgree(t *testing.T) {
	made := secretsMade(t)
	// The seed's names: Secret minio with rootUser/rootPassword, the AMQP URL in stablediff-rabbitmq/host.
	for secret, keys := range map[string][]string{"minio": {"rootUser", "rootPassword"}, "stablediff-rabbitmq": {"host", "http-host"}} {
		for _, k := range keys {
			if !made[secret][k] {
				t.Errorf("deploy.mk does not create Secret %s with key %s", secret, k)
			}
		}
	}
	wantRef := map[string]string{"AMQP_URL": "stablediff-rabbitmq/host", "MINIO_ACCESS_KEY": "minio/rootUser", "MINIO_SECRET_KEY": "minio/rootPassword"}
	for _, dir := range append([]string{"minio"}, appOverlays(t)...) {
		objs := render(t, dir)
		for _, c := range containers(objs) {
			for _, e := range list(c.Map["env"]) {
				ref := get(e, "valueFrom", "secretKeyRef")
				if ref == nil {
					continue
				}
				name, key := str(get(ref, "name")), str(get(ref, "key"))
				if !made[name][key] {
					t.Errorf("deploy/%s: %s reads Secret %s key %s, which deploy.mk does not create", dir, c.Owner, name, key)
				}
				if w, ok := wantRef[str(get(e, "name"))]; ok && w != name+"/"+key {
					t.Errorf("deploy/%s: %s takes %s from %s/%s, want %s", dir, c.Owner, str(get(e, "name")), name, key, w)
				}
			}
		}
		for _, o := range objs {
			for _, ref := range list(get(o.Map, "spec", "secretTargetRef")) {
				if name, key := str(get(ref, "name")), str(get(ref, "key")); !made[name][key] {
					t.Errorf("deploy/%s: %s reads Secret %s key %s, which deploy.mk does not create", dir, o, name, key)
				}
			}
		}
	}
}

func TestImageNamesAgree(t *testing.T) {
	out := runMake(t, "-n", "build-image") + runMake(t, "-n", "build-worker-image", "GPU=1")
	for _, want := range []string{webuiImage + ":latest", workerImage + ":latest", workerImage + ":latest-cuda"} {
		if !strings.Contains(out, "-t "+want+" ") {
			t.Errorf("make build-image does not tag %s", want)
		}
	}
	for _, dir := range appOverlays(t) {
		webui, worker := ours(render(t, dir))
		wantTag := "latest"
		if strings.HasSuffix(dir, "-gpu") {
			wantTag = "latest-cuda"
		}
		for _, c := range worker {
			if c.Image() != workerImage+":"+wantTag {
				t.Errorf("deploy/%s: %s runs %s, want %s:%s", dir, c.Owner, c.Image(), workerImage, wantTag)
			}
		}
		for _, c := range webui {
			if c.Image() != webuiImage+":latest" {
				t.Errorf("deploy/%s: %s runs %s, want %s:latest", dir, c.Owner, c.Image(), webuiImage)
			}
		}
	}
	var wf struct {
		Env  map[string]string `yaml:"env"`
		Jobs map[string]struct {
			Strategy struct {
				Matrix struct {
					Include []map[string]string `yaml:"include"`
				} `yaml:"matrix"`
			} `yaml:"strategy"`
		} `yaml:"jobs"`
	}
	if err := yamlv3.Unmarshal([]byte(readFile(t, filepath.Join(repoRoot(t), ".github", "workflows", "images.yaml"))), &wf); err != nil {
		t.Fatal(err)
	}
	built := map[string]bool{}
	for _, job := range wf.Jobs {
		for _, m := range job.Strategy.Matrix.Include {
			built[wf.Env["REGISTRY"]+"/"+m["image"]+m["suffix"]+" "+m["dockerfile"]] = true
		}
	}
	for _, want := range []string{webuiImage + " Dockerfile.webui", workerImage + " Dockerfile.worker", workerImage + "-cuda Dockerfile.worker"} {
		if !built[want] {
			t.Errorf("the images workflow does not build %q; it builds %v", want, sortedKeys(built))
		}
	}
}

func port(t testing.TB, addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("%q is not host:port: %v", addr, err)
	}
	return p
}
