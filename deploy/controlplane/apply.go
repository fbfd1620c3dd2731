package controlplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
)

var (
	metaGet    = metav1.GetOptions{}
	metaCreate = metav1.CreateOptions{}
	force      = true
)

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// Decode splits a multi-document YAML (or JSON) stream into objects.
func Decode(data []byte) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(m) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}

// ErrNoKind is returned by Apply for a kind the API server does not serve
// (a CRD that was not installed).
var ErrNoKind = errors.New("the API server does not serve this kind")

func (c *Cluster) mapping(obj *unstructured.Unstructured) (*meta.RESTMapping, error) {
	gvk := obj.GroupVersionKind()
	m, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		// Discovery is cached: look again once, for CRDs installed since.
		c.Mapper.Reset()
		m, err = c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if meta.IsNoMatchError(err) {
		return nil, fmt.Errorf("%w: %s", ErrNoKind, gvk)
	}
	return m, err
}

// Namespaced reports whether obj's kind lives in a namespace.
func (c *Cluster) Namespaced(obj *unstructured.Unstructured) (bool, error) {
	m, err := c.mapping(obj)
	if err != nil {
		return false, err
	}
	return m.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

// Resource is the client of obj's resource, in obj's namespace if it has
// one; a namespaced object without one goes to "default", as kubectl puts
// it in its context's namespace (default unless set).
func (c *Cluster) Resource(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	m, err := c.mapping(obj)
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := obj.GetNamespace()
		if ns == "" {
			ns = "default"
		}
		return c.Dynamic.Resource(m.Resource).Namespace(ns), nil
	}
	return c.Dynamic.Resource(m.Resource), nil
}

// Apply applies obj server-side as kubectl apply --server-side
// --force-conflicts does, with strict field validation: an unknown or
// duplicate field is an error, not a warning. The API server runs its
// admission, defaulting and validation (schemas, CEL rules) on it.
func (c *Cluster) Apply(ctx context.Context, obj *unstructured.Unstructured, manager string) (*unstructured.Unstructured, error) {
	res, err := c.Resource(obj)
	if err != nil {
		return nil, err
	}
	data, err := obj.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return res.Patch(ctx, obj.GetName(), types.ApplyPatchType, data,
		metav1.PatchOptions{FieldManager: manager, Force: &force, FieldValidation: "Strict"})
}

// CreateNamespace creates a namespace as `make namespace` does.
func (c *Cluster) CreateNamespace(t testing.TB, name string) {
	t.Helper()
	if _, err := c.Client.CoreV1().Namespaces().Create(context.Background(), namespace(name), metaCreate); err != nil {
		t.Fatalf("namespace %s: %v", name, err)
	}
}

// InstallCRDs applies the CustomResourceDefinitions in the YAML files and
// waits until each is established. Their labels are dropped: some projects
// ship CRD sources whose labels are Helm template text.
func (c *Cluster) InstallCRDs(t testing.TB, files ...string) {
	t.Helper()
	ctx := context.Background()
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, o := range objs {
			if o.GetKind() != "CustomResourceDefinition" {
				continue
			}
			o.SetLabels(nil)
			if _, err := c.Apply(ctx, o, "sdkeda-test"); err != nil {
				t.Fatalf("%s: CRD %s: %v", f, o.GetName(), err)
			}
			names = append(names, o.GetName())
		}
	}
	crds := c.Dynamic.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	for _, name := range names {
		if err := WaitFor(30*time.Second, func() (bool, error) {
			crd, err := crds.Get(ctx, name, metaGet)
			if err != nil {
				return false, err
			}
			return ConditionTrue(crd, "Established"), nil
		}); err != nil {
			t.Fatalf("CRD %s not established: %v", name, err)
		}
	}
	c.Mapper.Reset()
}

// ConditionTrue reports whether obj's status has condition typ with status True.
func ConditionTrue(obj *unstructured.Unstructured, typ string) bool {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, cd := range conds {
		m, _ := cd.(map[string]any)
		if m["type"] == typ {
			return m["status"] == "True"
		}
	}
	return false
}

// WaitFor polls cond every 200 ms until it is true, fails, or within passes.
func WaitFor(within time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok && err == nil {
			return nil
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	if last != nil {
		return fmt.Errorf("not within %s: %w", within, last)
	}
	return fmt.Errorf("not within %s", within)
}
