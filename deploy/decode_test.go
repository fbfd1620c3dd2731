package deploy

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// RabbitmqCluster and Issuer: no Go module of their APIs can be fetched here,
// so these hold the fields of rabbitmq.com/v1beta1 and cert-manager.io/v1
// that the manifests use, with the APIs' own JSON names. A field outside this
// subset fails the strict decode: add it here after checking the CRD.
type rabbitmqCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		Replicas    *int32                       `json:"replicas,omitempty"`
		Image       string                       `json:"image,omitempty"`
		Resources   *corev1.ResourceRequirements `json:"resources,omitempty"`
		Persistence struct {
			StorageClassName *string            `json:"storageClassName,omitempty"`
			Storage          *resource.Quantity `json:"storage,omitempty"`
		} `json:"persistence,omitempty"`
		Rabbitmq struct {
			AdditionalConfig  string   `json:"additionalConfig,omitempty"`
			AdvancedConfig    string   `json:"advancedConfig,omitempty"`
			AdditionalPlugins []string `json:"additionalPlugins,omitempty"`
		} `json:"rabbitmq,omitempty"`
		Affinity    *corev1.Affinity    `json:"affinity,omitempty"`
		Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	} `json:"spec"`
}

// backendConfig: GKE's cloud.google.com/v1 BackendConfig, the fields the
// GKE component uses, with the CRD's JSON names (its Go module, in
// k8s.io/ingress-gce, pins an older Kubernetes than this module).
type backendConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		TimeoutSec         *int64 `json:"timeoutSec,omitempty"`
		ConnectionDraining *struct {
			DrainingTimeoutSec int64 `json:"drainingTimeoutSec,omitempty"`
		} `json:"connectionDraining,omitempty"`
		HealthCheck *struct {
			CheckIntervalSec *int64  `json:"checkIntervalSec,omitempty"`
			TimeoutSec       *int64  `json:"timeoutSec,omitempty"`
			Type             *string `json:"type,omitempty"`
			RequestPath      *string `json:"requestPath,omitempty"`
			Port             *int64  `json:"port,omitempty"`
		} `json:"healthCheck,omitempty"`
	} `json:"spec"`
}

type issuer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		ACME struct {
			Server              string `json:"server"`
			Email               string `json:"email,omitempty"`
			PrivateKeySecretRef struct {
				Name string `json:"name"`
			} `json:"privateKeySecretRef"`
			Solvers []struct {
				HTTP01 struct {
					Ingress struct {
						Name  string `json:"name,omitempty"`
						Class string `json:"class,omitempty"`
					} `json:"ingress"`
				} `json:"http01"`
			} `json:"solvers"`
		} `json:"acme"`
	} `json:"spec"`
}

// types maps apiVersion/kind to the Go type a manifest must decode into.
var types = map[string]func() any{
	"v1/Namespace":                           func() any { return &corev1.Namespace{} },
	"v1/ConfigMap":                           func() any { return &corev1.ConfigMap{} },
	"v1/Secret":                              func() any { return &corev1.Secret{} },
	"v1/Service":                             func() any { return &corev1.Service{} },
	"v1/PersistentVolumeClaim":               func() any { return &corev1.PersistentVolumeClaim{} },
	"apps/v1/Deployment":                     func() any { return &appsv1.Deployment{} },
	"apps/v1/StatefulSet":                    func() any { return &appsv1.StatefulSet{} },
	"policy/v1/PodDisruptionBudget":          func() any { return &policyv1.PodDisruptionBudget{} },
	"cloud.google.com/v1/BackendConfig":      func() any { return &backendConfig{} },
	"batch/v1/Job":                           func() any { return &batchv1.Job{} },
	"networking.k8s.io/v1/Ingress":           func() any { return &networkingv1.Ingress{} },
	"keda.sh/v1alpha1/ScaledJob":             func() any { return &kedav1alpha1.ScaledJob{} },
	"keda.sh/v1alpha1/ScaledObject":          func() any { return &kedav1alpha1.ScaledObject{} },
	"keda.sh/v1alpha1/TriggerAuthentication": func() any { return &kedav1alpha1.TriggerAuthentication{} },
	"rabbitmq.com/v1beta1/RabbitmqCluster":   func() any { return &rabbitmqCluster{} },
	"cert-manager.io/v1/Issuer":              func() any { return &issuer{} },
}

// decodeStrict decodes one manifest into its API type and reports every
// unknown, duplicated or case-mismatched field and every missing required
// field, each with its path.
func decodeStrict(raw []byte, apiVersion, kind string) []string {
	newObj, ok := types[apiVersion+"/"+kind]
	if !ok {
		return []string{fmt.Sprintf("kind %s/%s has no API type in this test: add one", apiVersion, kind)}
	}
	js, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return []string{err.Error()}
	}
	obj := newObj()
	strictErrs, err := kjson.UnmarshalStrict(js, obj)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	for _, e := range strictErrs {
		problems = append(problems, e.Error())
	}
	var generic any
	if err := yaml.Unmarshal(raw, &generic); err != nil {
		return append(problems, err.Error())
	}
	missingRequired(reflect.TypeOf(obj).Elem(), generic, "", &problems)
	sort.Strings(problems)
	return problems
}

// missingRequired walks the manifest beside its Go type: a struct field whose
// JSON tag lacks omitempty is required by the API conventions, so the
// manifest must set it wherever its parent object is present.
func missingRequired(t reflect.Type, v any, path string, problems *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		if t == reflect.TypeOf(metav1.Time{}) || t == reflect.TypeOf(resource.Quantity{}) {
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			name, opts, _ := strings.Cut(tag, ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" && (f.Anonymous || strings.Contains(opts, "inline")) {
				missingRequired(f.Type, m, path, problems)
				continue
			}
			if name == "" {
				name = f.Name
			}
			child, present := m[name]
			if !present {
				if !strings.Contains(opts, "omitempty") && !isOpaque(f.Type) {
					*problems = append(*problems, fmt.Sprintf("%s.%s: required field is missing", path, name))
				}
				continue
			}
			missingRequired(f.Type, child, path+"."+name, problems)
		}
	case reflect.Slice:
		for i, item := range list(v) {
			missingRequired(t.Elem(), item, fmt.Sprintf("%s[%d]", path, i), problems)
		}
	case reflect.Map:
		if m, ok := v.(map[string]any); ok {
			for k, item := range m {
				missingRequired(t.Elem(), item, path+"."+k, problems)
			}
		}
	}
}

// isOpaque: types that marshal as scalars (IntOrString, Quantity, Time) or
// plain values whose zero the server accepts are never "missing".
func isOpaque(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	_, custom := reflect.New(t).Interface().(interface{ UnmarshalJSON([]byte) error })
	return custom
}

func TestManifestsDecodeStrictly(t *testing.T) {
	for _, dir := range kustomizeRoots(t) {
		t.Run(strings.ReplaceAll(dir, "/", "_"), func(t *testing.T) {
			objs := render(t, dir)
			if len(objs) == 0 {
				t.Fatalf("deploy/%s renders nothing", dir)
			}
			for _, o := range objs {
				for _, p := range decodeStrict(o.Raw, o.API, o.Kind) {
					t.Errorf("deploy/%s: %s: %s", dir, o, p)
				}
			}
		})
	}
}

// The checker itself must catch what it claims to catch.
func TestDecodeStrictCatchesMistakes(t *testing.T) {
	cases := map[string]struct{ doc, want string }{
		"unknown field": {`apiVersion: keda.sh/v1alpha1
kind: ScaledJob
metadata: {name: x}
spec:
  jobTargetRef: {template: {spec: {containers: [{name: c, image: i}]}}}
  scalingStrategy: {strategy: accurate, pendingPodCondition: [Ready]}
  triggers: [{type: rabbitmq, metadata: {queueName: tasks}}]
`, `unknown field "spec.scalingStrategy.pendingPodCondition"`},
		"missing required": {`apiVersion: keda.sh/v1alpha1
kind: ScaledJob
metadata: {name: x}
spec:
  jobTargetRef: {template: {spec: {containers: [{name: c, image: i}]}}}
`, `.spec.triggers: required field is missing`},
		"missing required deep": {`apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template: {spec: {containers: [{image: i, env: [{value: v}]}]}}
`, `.spec.template.spec.containers[0].env[0].name: required field is missing`},
		"wrong case": {`apiVersion: v1
kind: Service
metadata: {name: x}
spec: {ports: [{port: 80, targetport: 3000}]}
`, `targetport`},
	}
	for name, c := range cases {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			var doc map[string]any
			if err := yaml.Unmarshal([]byte(c.doc), &doc); err != nil {
				t.Fatal(err)
			}
			problems := decodeStrict([]byte(c.doc), str(doc["apiVersion"]), str(doc["kind"]))
			if !strings.Contains(strings.Join(problems, "\n"), c.want) {
				t.Errorf("want a problem mentioning %q, got %q", c.want, problems)
			}
		})
	}
}
