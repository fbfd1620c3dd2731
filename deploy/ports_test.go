package deploy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// exposed lists the EXPOSE ports and ENV values of a Dockerfile's final stage.
func exposed(t testing.TB, name string) (ports []string, envs map[string]string) {
	envs = map[string]string{}
	for _, cmd := range parseDockerfile(t, name).final().Commands {
		switch c := cmd.(type) {
		case *instructions.ExposeCommand:
			ports = append(ports, c.Ports...)
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				envs[kv.Key] = kv.Value
			}
		}
	}
	return ports, envs
}

func containerPort(c container, name string) string {
	for _, p := range list(c.Map["ports"]) {
		if str(get(p, "name")) == name {
			return fmt.Sprint(get(p, "containerPort"))
		}
	}
	return ""
}

func TestPortsAgree(t *testing.T) {
	webuiPort := port(t, configDefault(t, "LISTEN_ADDR"))
	metricsPort := port(t, configDefault(t, "METRICS_ADDR"))
	if ports, envs := exposed(t, "Dockerfile.webui"); strings.Join(ports, " ") != webuiPort || port(t, envs["LISTEN_ADDR"]) != webuiPort {
		t.Errorf("Dockerfile.webui: EXPOSE %v, LISTEN_ADDR %q; the webui listens on :%s", ports, envs["LISTEN_ADDR"], webuiPort)
	}
	if ports, _ := exposed(t, "Dockerfile.worker"); strings.Join(ports, " ") != metricsPort {
		t.Errorf("Dockerfile.worker: EXPOSE %v; the worker's metrics listen on :%s", ports, metricsPort)
	}
	for _, dir := range appOverlays(t) {
		objs := render(t, dir)
		webui, worker := ours(objs)
		for _, c := range webui {
			e := env(t, objs, c)
			if p := containerPort(c, "http"); p != webuiPort || port(t, e["LISTEN_ADDR"]) != webuiPort {
				t.Errorf("deploy/%s: %s: port http %s, LISTEN_ADDR %q; want %s", dir, c.Owner, p, e["LISTEN_ADDR"], webuiPort)
			}
		}
		for _, c := range worker {
			e := env(t, objs, c)
			if p := containerPort(c, "metrics"); p != metricsPort || port(t, e["METRICS_ADDR"]) != metricsPort {
				t.Errorf("deploy/%s: %s: port metrics %s, METRICS_ADDR %q; want %s", dir, c.Owner, p, e["METRICS_ADDR"], metricsPort)
			}
		}
		svc, ok := find(objs, "Service", "stable-diffusion-webui")
		if !ok || str(get(svc.Map, "spec", "ports", 0, "targetPort")) != "http" {
			t.Errorf("deploy/%s: Service stable-diffusion-webui must target the container port named http", dir)
		}
		ing, ok := find(objs, "Ingress", "stable-diffusion-webui")
		if !ok || str(get(ing.Map, "spec", "rules", 0, "http", "paths", 0, "backend", "service", "name")) != "stable-diffusion-webui" {
			t.Errorf("deploy/%s: the Ingress must send / to Service stable-diffusion-webui", dir)
		}
		// MINIO_ENDPOINT names the MinIO Service and its S3 port.
		cm, _ := find(objs, "ConfigMap", sharedCM)
		endpoint := str(get(cm.Map, "data", "MINIO_ENDPOINT"))
		minioSvc, _ := find(render(t, "minio"), "Service", "minio")
		want := fmt.Sprintf("%s:%v", minioSvc.Name, get(minioSvc.Map, "spec", "ports", 0, "port"))
		if endpoint != want {
			t.Errorf("deploy/%s: MINIO_ENDPOINT=%q, the MinIO Service is %s", dir, endpoint, want)
		}
	}
}

func TestNamespaceAndBucketAgree(t *testing.T) {
	for _, dir := range kustomizeRoots(t) {
		for _, o := range render(t, dir) {
			if ns := str(get(o.Map, "metadata", "namespace")); o.Kind != "Namespace" && ns != namespace {
				t.Errorf("deploy/%s: %s is in namespace %q, want %q", dir, o, ns, namespace)
			}
		}
	}
	if out := runMake(t, "-n", "deploy", "set-retention"); strings.Count(out, "-n "+namespace+" ") < 5 || strings.Contains(out, "-n default") {
		t.Errorf("make -n deploy does not work in namespace %s:\n%s", namespace, out)
	}
	bucket := configDefault(t, "MINIO_BUCKET")
	cm, _ := find(render(t, "base"), "ConfigMap", sharedCM)
	if got := str(get(cm.Map, "data", "MINIO_BUCKET")); got != bucket {
		t.Errorf("MINIO_BUCKET=%q in deploy/base, the programs' default is %q", got, bucket)
	}
	for _, target := range []string{"deploy-minio", "set-retention", "list-images"} {
		if out := runMake(t, "-n", target); !strings.Contains(out, "store/"+bucket) {
			t.Errorf("make -n %s does not use bucket %s:\n%s", target, bucket, out)
		}
	}
}
