package gateway

// This file is the engine's side of the app call: the pipeline's Backend
// inside a worker, whose only slot is the calling thread. Acquire never
// waits (the thread is free: it is the one asking), and Do runs the app on
// this same OS thread, so that the app's threading.local, its database
// connection and its stack are the ones of the Python thread that called
// into the engine.

import (
	"context"

	"github.com/gowsgi/gowsgi/pyworker"
)

// EngineApp runs the app for one request on the calling thread and streams
// its response to out. Its error is what pyworker.Slot.Do would return for
// the same outcome: *pyworker.AppError (the app raised before its
// headers), pyworker.ErrClientGone (a write failed: the client went away),
// pyworker.ErrResponseBroken (it failed after its headers), or a
// *pyworker.BadResponseError.
//
// The worker's Python runtime implements it through a C callback
// (engine/, _gowsgi/engine.py); the engine's Go tests with Go functions.
type EngineApp interface {
	Run(req *pyworker.Request, out pyworker.Responder) error
}

// EngineAppFunc adapts a function to EngineApp.
type EngineAppFunc func(req *pyworker.Request, out pyworker.Responder) error

// Run implements EngineApp.
func (f EngineAppFunc) Run(req *pyworker.Request, out pyworker.Responder) error { return f(req, out) }

// threadBackend is the Backend of one engine thread.
type threadBackend struct{ slot threadSlot }

type threadSlot struct {
	app      EngineApp
	pid, gen int
}

func (b *threadBackend) Acquire(context.Context, *pyworker.Request) (Slot, error) {
	return &b.slot, nil
}

func (b *threadBackend) Release(Slot) {}

func (s *threadSlot) Do(_ context.Context, req *pyworker.Request, out pyworker.Responder) error {
	return s.app.Run(req, out)
}

func (s *threadSlot) Worker() (pid, generation int) { return s.pid, s.gen }
