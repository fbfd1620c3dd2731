package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/sdkeda/sdkeda/deploy/controlplane"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/queue/rabbitmq"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// kube is the control plane of TestKubernetes with the broker KEDA reads.
type kube struct {
	c      *controlplane.Cluster
	rabbit *testenv.Rabbit
	q      *rabbitmq.Queue
}

// TestKubernetes checks the manifests against a real API server and KEDA's
// own operator (package controlplane), with the real RabbitMQ on loopback.
// `make test` and `make test-k8s` run it (SDKEDA_K8S=1), as does any run
// under CI=true; a plain `go test` skips it: it takes minutes, and the first
// run builds the control plane (README.md: "A real API server in the tests").
func TestKubernetes(t *testing.T) {
	testenv.Short(t)
	if !testenv.InCI() && os.Getenv("SDKEDA_K8S") == "" {
		t.Skip("a control plane on loopback: minutes, a first build more; run `make test-k8s` (or set SDKEDA_K8S=1)")
	}
	bins := controlplane.Build(t, "controlplane/tools")
	t.Logf("Kubernetes %s, KEDA %s, etcd %s", bins.Kubernetes, bins.KEDAVersion, bins.EtcdVersion)
	c := controlplane.Start(t, bins)
	c.StartControllerManager(t)
	kedaCRDs, _ := filepath.Glob(filepath.Join(bins.KEDACRDs, "*.yaml"))
	ours, _ := filepath.Glob(filepath.Join("controlplane", "testdata", "*.yaml"))
	if len(kedaCRDs) == 0 || len(ours) == 0 {
		t.Fatalf("no CRDs: %d of KEDA's in %s, %d in controlplane/testdata", len(kedaCRDs), bins.KEDACRDs, len(ours))
	}
	c.InstallCRDs(t, append(kedaCRDs, ours...)...)

	k := &kube{c: c, rabbit: testenv.StartRabbitMQManagement(t)}
	// The queue as the programs declare it, from the settings in deploy/base.
	settings, _ := find(render(t, "base"), "ConfigMap", "stable-diffusion")
	limit, _ := strconv.Atoi(str(get(settings.Map, "data", "DELIVERY_LIMIT")))
	failures, _ := strconv.Atoi(str(get(settings.Map, "data", "MAX_FAILURES")))
	q, err := rabbitmq.Open(context.Background(), k.rabbit.URL, queue.Options{
		Name: str(get(settings.Map, "data", "QUEUE_NAME")), DeliveryLimit: limit, MaxFailures: failures}, nil)
	if err != nil {
		t.Fatalf("declare the queue: %v", err)
	}
	t.Cleanup(func() { q.Close() })
	k.q = q
	c.StartKEDA(t)

	// The namespaces `make namespace` creates, with the secrets the deploy
	// targets put beside the manifests.
	sets := manifestSets(t)
	for _, ns := range namespaces(sets) {
		c.CreateNamespace(t, ns)
		k.deploySecrets(t, ns)
	}

	t.Run("overlays", func(t *testing.T) { k.testOverlays(t, sets) })
	t.Run("scaledjob", k.testScaledJob)
	t.Run("scaledobject", k.testScaledObject)
}

// testOverlays applies every manifest set server-side; then KEDA's operator
// must accept each ScaledJob and ScaledObject.
func (k *kube) testOverlays(t *testing.T, sets []manifestSet) {
	ctx := context.Background()
	applied, ready := 0, 0
	for _, set := range sets {
		var scalers []*unstructured.Unstructured
		for _, o := range set.objs {
			u := &unstructured.Unstructured{Object: o.Map}
			// kubectl would put it in its context's namespace, usually
			// default: away from the objects it belongs with.
			if namespaced, err := k.c.Namespaced(u); err == nil && namespaced && u.GetNamespace() == "" {
				t.Errorf("%s: %s has no namespace: kubectl apply puts it in its context's namespace (default), not in %v",
					set.name, o, namespaces(sets))
			}
			if _, err := k.c.Apply(ctx, u, "sdkeda-test"); err != nil {
				hint := ""
				if errors.Is(err, controlplane.ErrNoKind) {
					hint = " (install its CRD: a file in deploy/controlplane/testdata, its source in the README there)"
				}
				t.Errorf("%s: %s refused: %v%s", set.name, o, err, hint)
				continue
			}
			applied++
			if o.API == "keda.sh/v1alpha1" && (o.Kind == "ScaledJob" || o.Kind == "ScaledObject") {
				scalers = append(scalers, u)
			}
		}
		for _, u := range scalers {
			if k.waitReady(t, set.name, u) {
				ready++
			}
		}
		// The next set may define the same scaler: start it afresh.
		for _, u := range scalers {
			k.deleteAndWait(t, u)
		}
	}
	t.Logf("%d sets: %d objects applied, %d ScaledJobs and ScaledObjects Ready", len(sets), applied, ready)
}

// deploySecrets creates what the deploy targets put beside the manifests:
// the RabbitMQ cluster operator's default-user Secret (its shape at the
// pinned operator version, host and port of the loopback broker),
// stablediff-rabbitmq derived from it by `make deploy-rabbitmq`'s own
// script (scripts/rabbitmq-secret.sh, the management port being the
// loopback broker's), and MinIO's credentials as `make deploy-minio` makes
// them.
func (k *kube) deploySecrets(t *testing.T, ns string) {
	t.Helper()
	amqpURL, err := url.Parse(k.rabbit.URL)
	if err != nil {
		t.Fatal(err)
	}
	mgmtURL, err := url.Parse(k.rabbit.ManagementURL)
	if err != nil || mgmtURL.Port() == "" || mgmtURL.Hostname() != amqpURL.Hostname() {
		t.Fatalf("management URL %q (broker %q): %v", k.rabbit.ManagementURL, k.rabbit.URL, err)
	}
	pass, _ := amqpURL.User.Password()
	operator := operatorSecret(amqpURL.User.Username(), pass, amqpURL.Hostname(), amqpURL.Port())
	derived, stderr, err := deriveRabbitSecret(t, ns, operator, mgmtURL.Port())
	if err != nil {
		t.Fatalf("scripts/rabbitmq-secret.sh: %v\n%s", err, stderr)
	}
	minio := map[string]string{"rootUser": randomString(t), "rootPassword": randomString(t)}
	for name, data := range map[string]map[string]string{
		"rabbitmq-cluster-default-user": operator, "stablediff-rabbitmq": derived, "minio": minio,
	} {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Type: corev1.SecretTypeOpaque, StringData: data}
		if _, err := k.c.Client.CoreV1().Secrets(ns).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
			t.Fatalf("secret %s/%s: %v", ns, name, err)
		}
	}
}

// waitReady waits until KEDA's operator reports the scaler Ready: it built
// the trigger from the TriggerAuthentication and the Secret, and found the
// scale target.
func (k *kube) waitReady(t *testing.T, set string, u *unstructured.Unstructured) bool {
	t.Helper()
	res, err := k.c.Resource(u)
	if err != nil {
		t.Fatal(err)
	}
	var conds []any
	err = controlplane.WaitFor(60*time.Second, func() (bool, error) {
		got, err := res.Get(context.Background(), u.GetName(), metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conds, _, _ = unstructured.NestedSlice(got.Object, "status", "conditions")
		return controlplane.ConditionTrue(got, "Ready"), nil
	})
	if err != nil {
		t.Errorf("%s: KEDA did not make %s %s Ready: %v; conditions %v; KEDA's log:\n%s",
			set, u.GetKind(), u.GetName(), err, conds, k.c.KEDALog(20))
		return false
	}
	return true
}

// deleteAndWait deletes the object and waits until it is gone (KEDA
// removes its finalizer first).
func (k *kube) deleteAndWait(t *testing.T, u *unstructured.Unstructured) {
	t.Helper()
	res, err := k.c.Resource(u)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := res.Delete(ctx, u.GetName(), metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete %s %s: %v", u.GetKind(), u.GetName(), err)
	}
	if err := controlplane.WaitFor(60*time.Second, func() (bool, error) {
		_, err := res.Get(ctx, u.GetName(), metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}); err != nil {
		t.Fatalf("%s %s not deleted: %v", u.GetKind(), u.GetName(), err)
	}
}

func randomString(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
