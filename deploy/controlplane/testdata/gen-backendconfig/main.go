// Prints the BackendConfig CRD exactly as ingress-gce's controller creates it
// (crd.CRDHandler.EnsureCRD of backendconfig.CRDMeta()), against a fake API server.
package main

import (
	"context"
	"fmt"
	"os"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/fake"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/ingress-gce/pkg/backendconfig"
	"k8s.io/ingress-gce/pkg/crd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/yaml"
)

func main() {
	client := fake.NewSimpleClientset()
	// The fake never establishes a CRD; mark it so EnsureCRD returns at once.
	client.PrependReactor("get", "customresourcedefinitions", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj, err := client.Tracker().Get(a.GetResource(), "", a.(k8stesting.GetAction).GetName())
		if err != nil {
			return true, nil, err
		}
		c := obj.(*apiextensionsv1.CustomResourceDefinition).DeepCopy()
		c.Status.Conditions = []apiextensionsv1.CustomResourceDefinitionCondition{{Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue}}
		return true, c, nil
	})
	if _, err := crd.NewCRDHandler(client, klog.Background()).EnsureCRD(backendconfig.CRDMeta(), true); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	c, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(context.Background(), "backendconfigs.cloud.google.com", metav1.GetOptions{})
	if err != nil {
		panic(err)
	}
	c.TypeMeta = metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"}
	c.ObjectMeta = metav1.ObjectMeta{Name: c.Name}
	c.Status = apiextensionsv1.CustomResourceDefinitionStatus{}
	out, err := yaml.Marshal(c)
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(out)
}
