//go:build !race

package gateway

// raceEnabled: built without -race (race_on.go).
const raceEnabled = false
