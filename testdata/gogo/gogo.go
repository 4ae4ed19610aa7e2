// Package main is a Go c-shared library that a Python app loads at import
// (app.py), as a Python extension built with Go would be: it puts a Go
// runtime of its own in the app's processes, next to which the in-worker
// engine cannot run (golang/go#18976). cmd/gowsgi's TestGoRuntimeFallsBack
// builds it with go build -buildmode=c-shared.
package main

import "C"

//export gogo_answer
func gogo_answer() C.int { return 42 }

func main() {}
