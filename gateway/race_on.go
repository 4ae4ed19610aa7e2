//go:build race

package gateway

// raceEnabled: built with -race. The engine's raw reads and writes then go
// through x/sys/unix, which tells the race detector what the kernel read
// and wrote (rawIO).
const raceEnabled = true
