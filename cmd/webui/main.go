// Command webui serves the prompt form, the job status and the live gallery;
// see package web.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/sdkeda/sdkeda/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Run has printed or logged the error already.
	if err := web.Run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		stop()
		os.Exit(1)
	}
}
