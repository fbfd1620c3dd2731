// Package controlplane runs a real Kubernetes control plane on loopback for the
// deploy tests, as controller-runtime's envtest does: etcd and
// kube-apiserver, and on demand kube-controller-manager (Jobs get Pods,
// namespaces get their default ServiceAccount) and KEDA's operator. There is
// no scheduler and no kubelet: Pods stay Pending.
//
// The programs are built from pinned Go modules (tools/) into a cache folder
// outside the repository (see Build and CacheDir); README.md says how long
// a cold build takes.
package controlplane

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/sdkeda/sdkeda/internal/testenv"
)

// Cluster is a running API server with its clients (admin rights).
type Cluster struct {
	Dir        string // certificates, kubeconfig, logs, etcd's data
	Kubeconfig string
	Config     *rest.Config
	Client     kubernetes.Interface
	Dynamic    dynamic.Interface
	Mapper     *restmapper.DeferredDiscoveryRESTMapper

	bins Binaries
	pki  pki
	keda *testenv.Process
}

// plainHTTP asks etcd's and KEDA's health endpoints.
var plainHTTP = &http.Client{Timeout: 2 * time.Second}

// Start runs etcd and kube-apiserver on free loopback ports until t ends
// and waits until the API server is ready.
func Start(t testing.TB, bins Binaries) *Cluster {
	t.Helper()
	dir := t.TempDir()
	p, err := writePKI(dir)
	if err != nil {
		t.Fatalf("certificates: %v", err)
	}
	client, peer := testenv.FreePort(t), testenv.FreePort(t)
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", client)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	etcd := testenv.StartProcess(t, "etcd", filepath.Join(dir, "etcd.log"), nil, bins.Etcd,
		"--name=test", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=test="+peerURL, "--unsafe-no-fsync")
	waitHealthy(t, "etcd", etcd, 30*time.Second, func() error { return httpOK(plainHTTP, etcdURL+"/health") })

	port := testenv.FreePort(t)
	host := fmt.Sprintf("https://127.0.0.1:%d", port)
	api := testenv.StartProcess(t, "kube-apiserver", filepath.Join(dir, "kube-apiserver.log"), nil, bins.APIServer,
		"--etcd-servers="+etcdURL, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		// A loopback address cannot be published as the "kubernetes" endpoints.
		"--endpoint-reconciler-type=none",
		fmt.Sprintf("--secure-port=%d", port), "--cert-dir="+filepath.Join(dir, "apiserver"),
		"--tls-cert-file="+p.Cert, "--tls-private-key-file="+p.Key, "--client-ca-file="+p.CA,
		"--token-auth-file="+p.TokenFile,
		"--service-account-issuer="+host, "--service-account-key-file="+p.SAPub,
		"--service-account-signing-key-file="+p.SAKey,
		"--service-cluster-ip-range=10.0.0.0/24", "--authorization-mode=RBAC", "--allow-privileged=true")

	cfg := &rest.Config{Host: host, BearerToken: p.Token, TLSClientConfig: rest.TLSClientConfig{CAFile: p.CA}, QPS: 100, Burst: 200}
	c := &Cluster{Dir: dir, Kubeconfig: filepath.Join(dir, "kubeconfig"), Config: cfg, bins: bins, pki: p}
	if err := os.WriteFile(c.Kubeconfig, []byte(kubeconfig(host, p)), 0o600); err != nil {
		t.Fatal(err)
	}
	if c.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if c.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))
	waitHealthy(t, "kube-apiserver", api, 60*time.Second, func() error {
		return c.Client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(context.Background()).Error()
	})
	return c
}

// StartControllerManager runs kube-controller-manager's default controllers
// (Jobs create Pods, Deployments ReplicaSets, namespaces get their default
// ServiceAccount, garbage collection) until t ends.
func (c *Cluster) StartControllerManager(t testing.TB) {
	t.Helper()
	kcm := testenv.StartProcess(t, "kube-controller-manager", filepath.Join(c.Dir, "kube-controller-manager.log"), nil,
		c.bins.ControllerManager,
		"--kubeconfig="+c.Kubeconfig, "--leader-elect=false", "--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", testenv.FreePort(t)), "--cert-dir="+filepath.Join(c.Dir, "kcm"),
		"--service-account-private-key-file="+c.pki.SAKey, "--root-ca-file="+c.pki.CA,
		"--use-service-account-credentials=false")
	// Ready when its ServiceAccount controller made the default namespace's account.
	waitHealthy(t, "kube-controller-manager", kcm, 60*time.Second, func() error {
		_, err := c.Client.CoreV1().ServiceAccounts("default").Get(context.Background(), "default", metaGet)
		return err
	})
}

// StartKEDA runs KEDA's operator out of cluster, watching every namespace,
// until t ends. Its CRDs must be installed first (InstallCRDs).
func (c *Cluster) StartKEDA(t testing.TB) {
	t.Helper()
	if _, err := c.Client.CoreV1().Namespaces().Create(context.Background(), namespace("keda"), metaCreate); err != nil {
		t.Fatalf("namespace keda: %v", err)
	}
	// The cert dir must hold ca.crt, tls.crt and tls.key even with rotation off.
	certs := filepath.Join(c.Dir, "keda-certs")
	if err := os.MkdirAll(certs, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{"ca.crt": c.pki.CA, "tls.crt": c.pki.Cert, "tls.key": c.pki.Key} {
		if err := os.Link(src, filepath.Join(certs, name)); err != nil {
			t.Fatal(err)
		}
	}
	health := testenv.FreePort(t)
	env := []string{"KUBECONFIG=" + c.Kubeconfig, "WATCH_NAMESPACE=", "POD_NAMESPACE=keda",
		// Else it reads the in-cluster service account's namespace file and exits.
		"KEDA_CLUSTER_OBJECT_NAMESPACE=keda"}
	keda := testenv.StartProcess(t, "keda-operator", filepath.Join(c.Dir, "keda-operator.log"), env, c.bins.KEDA,
		"--leader-elect=false", "--enable-cert-rotation=false", "--cert-dir="+certs, "--zap-encoder=console",
		// The defaults listen on every interface.
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", testenv.FreePort(t)),
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", health),
		fmt.Sprintf("--metrics-service-bind-address=127.0.0.1:%d", testenv.FreePort(t)))
	waitHealthy(t, "keda-operator", keda, 60*time.Second, func() error {
		return httpOK(plainHTTP, fmt.Sprintf("http://127.0.0.1:%d/readyz", health))
	})
	c.keda = keda
}

// KEDALog is the end of the KEDA operator's log, for failure messages.
func (c *Cluster) KEDALog(lines int) string {
	if c.keda == nil {
		return "(KEDA not started)"
	}
	return c.keda.Tail(lines)
}

func kubeconfig(host string, p pki) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q, certificate-authority: %q}
users:
- name: admin
  user: {token: %q}
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
`, host, p.CA, p.Token)
}

// waitHealthy polls check until it succeeds, failing t with the end of the
// process's log when the process exits or the time is up.
func waitHealthy(t testing.TB, name string, p *testenv.Process, within time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := check()
		if err == nil {
			return
		}
		select {
		case <-p.Exited():
			t.Fatalf("%s exited before it was ready; log:\n%s", name, p.Tail(30))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within %s: %v; log:\n%s", name, within, err, p.Tail(30))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func httpOK(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}
