//go:build !linux

package master

import (
	"context"
	"errors"
	"os"

	"github.com/gowsgi/gowsgi/pyworker"
)

// The in-worker engine runs on Linux only (epoll, memfd): elsewhere the
// master serves the connections (engine.go).

type engineSetup struct{}

// ErrNoEngine is engine = on where the engine cannot run.
var ErrNoEngine = errors.New("the in-worker engine cannot run here")

func (m *Master) pickEngine(*pyworker.Options) (string, error) {
	if m.cfg.Engine == "on" {
		return "", errors.Join(ErrNoEngine, errors.New("the engine runs on Linux only"))
	}
	return "the engine runs on Linux only", nil
}

func (m *Master) engineStatus(*pyworker.Status) {}
func (es *engineSetup) httpFile(int) *os.File   { return nil }
func (es *engineSetup) setLive(int, int)        {}
func (m *Master) fallBackToProxy(_ context.Context, _ *pyworker.Options, err error) error {
	return err
}
func (m *Master) closeEngine()  {}
func (m *Master) unpollEngine() {}
