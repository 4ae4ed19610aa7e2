// Package smoke is what `gowsgi check` does once the app is up: read the
// requests to make (--get, --post, --expect-body), make them as a browser
// reaching the app directly would, and report each as a line (✓, ✗, or !
// for a Django warning), as GitHub Actions annotations, as JSON and as
// JUnit XML, closing with "N passed, N failed".
//
// # Troubleshooting
//
//	✗ GET /items/ 500 (want < 500) in 12 ms
//
// The app answered with a server error; the start of the body is in the
// JSON and JUnit reports, and gowsgi's log (with the traceback) is printed
// after a failure.
//
//	✗ GET /slow/ timed out: no complete answer within 10s (--timeout)
//
// The app did not finish the answer in time; its worker is still busy, so
// the check stops the app at once instead of waiting for it.
//
//	gowsgi: --get items/: the path must start with /
//
// Paths are written as the browser's address bar shows them after the
// host: --get /items/ or --get /items/=200.
package smoke
