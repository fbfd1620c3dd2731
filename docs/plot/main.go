package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "plot:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: plot DIR (draws DIR/bench-*.json into DIR/bench-*.png)")
	}
	files, err := filepath.Glob(filepath.Join(args[0], "bench-*.json"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no bench-*.json in %s: run `make bench` first", args[0])
	}
	for _, f := range files {
		c, err := readChart(f)
		if err != nil {
			return err
		}
		out := strings.TrimSuffix(f, ".json") + ".png"
		if err := draw(c, out); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		fmt.Println(out)
	}
	return nil
}
