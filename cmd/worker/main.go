// Command worker takes image jobs from the queue, runs the generator and
// stores the results (see worker/README.md); `worker generate` makes images
// locally without a queue or a store.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/sdkeda/sdkeda/worker"
)

func main() {
	if err := worker.Run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
