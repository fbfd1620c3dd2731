package deploy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

// matches reports whether a label selector's matchLabels select labels.
func matches(selector any, labels any) bool {
	ml, _ := get(selector, "matchLabels").(map[string]any)
	l, _ := labels.(map[string]any)
	if len(ml) == 0 {
		return false
	}
	for k, v := range ml {
		if l[k] != v {
			return false
		}
	}
	return true
}

func number(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int64:
		return int(n)
	case string:
		i, _ := strconv.Atoi(n)
		return i
	}
	return -1
}

// HA=1: the webui runs twice, on two nodes, and a drain keeps one.
func TestHAWebui(t *testing.T) {
	for _, dir := range append([]string{"base"}, appOverlays(t)...) {
		e := defaultEnv(dir)
		e.Components = "ha"
		objs := renderWrapped(t, dir, e)
		dep, ok := find(objs, "Deployment", "stable-diffusion-webui")
		if !ok {
			t.Fatalf("deploy/%s+ha: no webui Deployment", dir)
		}
		replicas := number(get(dep.Map, "spec", "replicas"))
		if replicas < 2 {
			t.Errorf("deploy/%s+ha: webui replicas %d, want 2 or more", dir, replicas)
		}
		if u := get(dep.Map, "spec", "strategy", "rollingUpdate", "maxUnavailable"); number(u) != 0 {
			t.Errorf("deploy/%s+ha: rollouts may take a replica away first (maxUnavailable %v)", dir, u)
		}
		labels := get(dep.Map, "spec", "template", "metadata", "labels")
		spread := false
		for _, c := range list(get(dep.Map, "spec", "template", "spec", "topologySpreadConstraints")) {
			if str(get(c, "topologyKey")) == "kubernetes.io/hostname" && str(get(c, "whenUnsatisfiable")) == "DoNotSchedule" &&
				number(get(c, "maxSkew")) == 1 && matches(get(c, "labelSelector"), labels) {
				spread = true
			}
		}
		if !spread {
			t.Errorf("deploy/%s+ha: the webui replicas are not spread one per node (topologySpreadConstraints)", dir)
		}
		pdb, ok := find(objs, "PodDisruptionBudget", "stable-diffusion-webui")
		if !ok {
			t.Fatalf("deploy/%s+ha: no PodDisruptionBudget for the webui", dir)
		}
		if !matches(get(pdb.Map, "spec", "selector"), labels) {
			t.Errorf("deploy/%s+ha: the webui PodDisruptionBudget does not select the webui pods", dir)
		}
		if m := number(get(pdb.Map, "spec", "minAvailable")); m < 1 || m >= replicas {
			t.Errorf("deploy/%s+ha: minAvailable %d: want at least 1 and below the %d replicas (else no drain can proceed)", dir, m, replicas)
		}
		// Without HA: one replica, no budget (a budget on one replica would block every drain).
		plain := render(t, dir)
		if _, ok := find(plain, "PodDisruptionBudget", "stable-diffusion-webui"); ok {
			t.Errorf("deploy/%s: a PodDisruptionBudget without HA", dir)
		}
	}
}

// deploy/rabbitmq-ha: three nodes on three hosts, quorum queues on all three,
// drained one at a time.
func TestHARabbitMQ(t *testing.T) {
	objs := render(t, "rabbitmq-ha")
	rc, ok := find(objs, "RabbitmqCluster", "rabbitmq-cluster")
	if !ok {
		t.Fatal("deploy/rabbitmq-ha: no RabbitmqCluster rabbitmq-cluster (the name the Secrets and Makefile use)")
	}
	if n := number(get(rc.Map, "spec", "replicas")); n != 3 {
		t.Errorf("deploy/rabbitmq-ha: %d replicas, want 3", n)
	}
	adv := str(get(rc.Map, "spec", "rabbitmq", "advancedConfig"))
	if !regexp.MustCompile(`\{rabbit,\s*\[\{quorum_cluster_size,\s*3\}\]\}`).MatchString(adv) {
		t.Errorf("deploy/rabbitmq-ha: advancedConfig does not set quorum_cluster_size to 3:\n%s", adv)
	}
	if !strings.Contains(str(get(rc.Map, "spec", "rabbitmq", "additionalConfig")), "consumer_timeout") {
		t.Error("deploy/rabbitmq-ha: lost deploy/rabbitmq's consumer_timeout")
	}
	// The cluster operator labels the pods app.kubernetes.io/name=<cluster name>.
	podLabels := map[string]any{"app.kubernetes.io/name": rc.Name}
	anti := false
	for _, term := range list(get(rc.Map, "spec", "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution")) {
		anti = anti || (str(get(term, "topologyKey")) == "kubernetes.io/hostname" && matches(get(term, "labelSelector"), podLabels))
	}
	if !anti {
		t.Error("deploy/rabbitmq-ha: the three nodes may share a host (no required pod anti-affinity on kubernetes.io/hostname)")
	}
	pdb, ok := find(objs, "PodDisruptionBudget", "rabbitmq-cluster")
	if !ok || !matches(get(pdb.Map, "spec", "selector"), podLabels) || number(get(pdb.Map, "spec", "maxUnavailable")) != 1 {
		t.Errorf("deploy/rabbitmq-ha: want a PodDisruptionBudget selecting the RabbitMQ pods with maxUnavailable 1, got %v", pdb.Map["spec"])
	}
}

var erasureSet = regexp.MustCompile(`^http://minio-\{0\.\.\.(\d+)\}\.([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local/data$`)

// deploy/minio-ha: four servers, one per node, found through the headless
// Service, behind the same Service and Secret as the single server.
func TestHAMinIO(t *testing.T) {
	objs := render(t, "minio-ha")
	sts, ok := find(objs, "StatefulSet", "minio")
	if !ok {
		t.Fatal("deploy/minio-ha: no StatefulSet minio")
	}
	replicas := number(get(sts.Map, "spec", "replicas"))
	if replicas < 4 {
		t.Errorf("deploy/minio-ha: %d servers; erasure coding needs at least 4 drives", replicas)
	}
	if p := str(get(sts.Map, "spec", "podManagementPolicy")); p != "Parallel" {
		t.Errorf("deploy/minio-ha: podManagementPolicy %q: the servers wait for each other, start them together (Parallel)", p)
	}
	c := list(get(sts.Map, "spec", "template", "spec", "containers"))
	args := list(get(c, 0, "args"))
	found := false
	for _, a := range args {
		m := erasureSet.FindStringSubmatch(str(a))
		if m == nil {
			continue
		}
		found = true
		if last, _ := strconv.Atoi(m[1]); last != replicas-1 {
			t.Errorf("deploy/minio-ha: the server list ends at minio-%d, the StatefulSet has %d replicas", last, replicas)
		}
		if m[2] != str(get(sts.Map, "spec", "serviceName")) {
			t.Errorf("deploy/minio-ha: the servers are named through %q, the StatefulSet's serviceName is %q", m[2], get(sts.Map, "spec", "serviceName"))
		}
		if m[3] != namespace {
			t.Errorf("deploy/minio-ha: the servers are named in namespace %q, want %q", m[3], namespace)
		}
		hl, ok := find(objs, "Service", m[2])
		if !ok || str(get(hl.Map, "spec", "clusterIP")) != "None" || get(hl.Map, "spec", "publishNotReadyAddresses") != true {
			t.Errorf("deploy/minio-ha: Service %s must be headless and publish not-ready addresses (peers resolve each other before they are ready)", m[2])
		}
	}
	if !found {
		t.Errorf("deploy/minio-ha: no server list http://minio-{0...N}.<service>.<namespace>.svc.cluster.local/data in %v", args)
	}
	labels := get(sts.Map, "spec", "template", "metadata", "labels")
	anti := false
	for _, term := range list(get(podSpec(sts), "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution")) {
		anti = anti || (str(get(term, "topologyKey")) == "kubernetes.io/hostname" && matches(get(term, "labelSelector"), labels))
	}
	if !anti {
		t.Error("deploy/minio-ha: two drives may share a node (no required pod anti-affinity on kubernetes.io/hostname)")
	}
	pdb, ok := find(objs, "PodDisruptionBudget", "minio")
	if !ok || !matches(get(pdb.Map, "spec", "selector"), labels) || number(get(pdb.Map, "spec", "maxUnavailable")) != 1 {
		t.Errorf("deploy/minio-ha: want a PodDisruptionBudget selecting the MinIO pods with maxUnavailable 1")
	}
	// The programs' endpoint and credentials do not change.
	single, _ := find(render(t, "minio"), "Service", "minio")
	svc, ok := find(objs, "Service", "minio")
	if !ok || fmt.Sprint(get(svc.Map, "spec", "ports", 0, "port")) != fmt.Sprint(get(single.Map, "spec", "ports", 0, "port")) ||
		!matches(map[string]any{"matchLabels": get(svc.Map, "spec", "selector")}, labels) {
		t.Errorf("deploy/minio-ha: Service minio must serve the MinIO pods on the port of deploy/minio's (%v)", get(single.Map, "spec", "ports", 0, "port"))
	}
	for _, ct := range containers(objs) {
		refs := map[string]string{}
		for _, e := range list(ct.Map["env"]) {
			if ref := get(e, "valueFrom", "secretKeyRef"); ref != nil {
				refs[str(get(e, "name"))] = str(get(ref, "name")) + "/" + str(get(ref, "key"))
			}
		}
		if refs["MINIO_ROOT_USER"] != "minio/rootUser" || refs["MINIO_ROOT_PASSWORD"] != "minio/rootPassword" {
			t.Errorf("deploy/minio-ha: root credentials from %v, want the Secret minio the programs read", refs)
		}
	}
}

// GKE=1: the load balancer keeps /events open for an hour instead of 30 s,
// and checks the webui where its readiness probe does.
func TestGKEBackendConfig(t *testing.T) {
	for _, dir := range append([]string{"base"}, appOverlays(t)...) {
		e := defaultEnv(dir)
		e.Components = "gke"
		objs := renderWrapped(t, dir, e)
		svc, _ := find(objs, "Service", "stable-diffusion-webui")
		ann := str(get(svc.Map, "metadata", "annotations", "cloud.google.com/backend-config"))
		m := regexp.MustCompile(`^\{"default":\s*"([^"]+)"\}$`).FindStringSubmatch(ann)
		if m == nil {
			t.Fatalf("deploy/%s+gke: Service stable-diffusion-webui has no cloud.google.com/backend-config default (%q)", dir, ann)
		}
		bc, ok := find(objs, "BackendConfig", m[1])
		if !ok {
			t.Fatalf("deploy/%s+gke: the Service names BackendConfig %q, which the overlay does not contain", dir, m[1])
		}
		if s := number(get(bc.Map, "spec", "timeoutSec")); s < 3600 {
			t.Errorf("deploy/%s+gke: timeoutSec %d: GKE cuts a streamed response after it; the page's /events needs an hour or more", dir, s)
		}
		dep, _ := find(objs, "Deployment", "stable-diffusion-webui")
		probe := get(dep.Map, "spec", "template", "spec", "containers", 0, "readinessProbe", "httpGet", "path")
		if p := get(bc.Map, "spec", "healthCheck", "requestPath"); p != probe {
			t.Errorf("deploy/%s+gke: the load balancer checks %v, the readiness probe %v", dir, p, probe)
		}
		wc, _ := ours(objs)
		if p := fmt.Sprint(get(bc.Map, "spec", "healthCheck", "port")); len(wc) == 0 || p != containerPort(wc[0], "http") {
			t.Errorf("deploy/%s+gke: the health check's port %s is not the webui's http port", dir, p)
		}
	}
}

// `kubectl delete -k deploy/overlays/<mode>` (or of base, or of any wrapped
// overlay) deletes what the app owns and nothing of the data: no overlay
// holds the Namespace, a volume, the RabbitMQ cluster, MinIO or a Secret.
func TestNoAppOverlayOwnsTheData(t *testing.T) {
	for _, dir := range append([]string{"base"}, appOverlays(t)...) {
		sets := [][]object{render(t, dir)}
		for _, comps := range componentSets(t) {
			e := defaultEnv(dir)
			e.Components = comps
			sets = append(sets, renderWrapped(t, dir, e))
		}
		for _, objs := range sets {
			for _, o := range objs {
				switch {
				case o.Kind == "Namespace", o.Kind == "PersistentVolumeClaim", o.Kind == "RabbitmqCluster", o.Kind == "Secret",
					o.Kind == "StatefulSet", o.Name == "minio":
					t.Errorf("deploy/%s: holds %s; `kubectl delete -k deploy/%s` would delete it with the data", dir, o, dir)
				}
			}
		}
	}
	// The namespace comes from `make namespace`, which every deploy target runs first.
	for _, target := range []string{"deploy-app", "deploy-minio", "deploy-rabbitmq"} {
		if out := runMake(t, "-n", target); !strings.HasPrefix(out, "kubectl create namespace "+namespace+" --dry-run=client -o yaml | kubectl apply -f -") {
			t.Errorf("make -n %s does not create the namespace first:\n%s", target, out)
		}
	}
}

// The worker's memory request covers the image's model: stabilityai/sd-turbo's
// float32 weights (5.2 GB, loaded on the host on both paths) plus 2 GiB; the
// limit leaves room above it; tweaks/README.md states the same numbers.
func TestWorkerMemoryFitsTheModel(t *testing.T) {
	weights := resource.MustParse("5.2G")
	floor := weights.DeepCopy()
	floor.Add(resource.MustParse("2Gi"))
	row := regexp.MustCompile("(?m)^\\| `stabilityai/sd-turbo` \\(default\\) \\|[^\\n]*\\| ([0-9]+Gi) / ([0-9]+Gi) ")
	m := row.FindStringSubmatch(readFile(t, "../tweaks/README.md"))
	if m == nil {
		t.Fatal("tweaks/README.md has no row for stabilityai/sd-turbo (default) with its request / limit")
	}
	for _, dir := range appOverlays(t) {
		_, workers := ours(render(t, dir))
		for _, c := range workers {
			req := resource.MustParse(str(get(c.Map, "resources", "requests", "memory")))
			lim := resource.MustParse(str(get(c.Map, "resources", "limits", "memory")))
			if req.Cmp(floor) < 0 {
				t.Errorf("deploy/%s: %s requests %s, below the model's working set (%s)", dir, c.Owner, req.String(), floor.String())
			}
			if lim.Cmp(req) <= 0 {
				t.Errorf("deploy/%s: %s: limit %s is not above the request %s", dir, c.Owner, lim.String(), req.String())
			}
			if req.String() != m[1] || lim.String() != m[2] {
				t.Errorf("deploy/%s: %s: %s / %s, tweaks/README.md says %s / %s", dir, c.Owner, req.String(), lim.String(), m[1], m[2])
			}
		}
	}
}

// The GKE GPU node pool in deploy/README.md can hold every worker the GPU
// overlays start (one GPU per worker, one GPU per node): --max-nodes equals
// maxReplicaCount, or the rest of the workers wait Pending for nodes that
// never come.
func TestGKENodePoolFitsMaxReplicas(t *testing.T) {
	readme := readFile(t, "README.md")
	m := regexp.MustCompile(`--max-nodes (\d+)`).FindAllStringSubmatch(readme, -1)
	if len(m) == 0 {
		t.Fatal("deploy/README.md creates no autoscaled node pool (--max-nodes)")
	}
	if !strings.Contains(readme, "count=1") {
		t.Fatal("deploy/README.md's GPU pool should have one GPU per node (--accelerator ...count=1)")
	}
	for _, dir := range []string{"overlays/scaledjob-gpu", "overlays/scaledobject-gpu"} {
		for _, o := range render(t, dir) {
			if o.Kind != "ScaledJob" && o.Kind != "ScaledObject" {
				continue
			}
			max := number(get(o.Map, "spec", "maxReplicaCount"))
			for _, mm := range m {
				if n, _ := strconv.Atoi(mm[1]); n != max {
					t.Errorf("deploy/README.md: --max-nodes %d, deploy/%s: %s maxReplicaCount %d", n, dir, o, max)
				}
			}
		}
	}
}
