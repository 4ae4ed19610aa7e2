package pyworker

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestDoAbandonsWhenItsContextEnds pins issue 13, bug 2: a request stuck
// in the app held Do (and with it the uwsgi server's Close, and a second
// CONTROL-C) for as long as the app ran, because Do had no context. Now
// Do gives the request up when its context ends: it returns at once, the
// slot is broken (its worker is replaced) and the request is not passed
// off as one no worker received (which would run it again elsewhere).
func TestDoAbandonsWhenItsContextEnds(t *testing.T) {
	m, _, f := queueTestSlot(t, true) // the fake thread never answers
	s, err := m.Acquire(context.Background(), get("/stuck"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Do(ctx, get("/stuck"), &bodyRecorder{}) }()
	<-f.seen // the request is in the app
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, ErrAbandoned) || !errors.Is(err, context.Canceled) {
			t.Errorf("Do = %v, want ErrAbandoned and the context's cause", err)
		}
		if errors.Is(err, ErrNotDelivered) {
			t.Errorf("Do = %v: an abandoned request must not be retried elsewhere", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Do still waits for the app a second after its context ended")
	}
	if !s.broken.Load() {
		t.Error("the slot of an abandoned request is not marked broken")
	}
}

// TestDoWithALiveContextCompletes: a context that does not end changes
// nothing, and the slot stays usable.
func TestDoWithALiveContextCompletes(t *testing.T) {
	m, _, _ := queueTestSlot(t, false)
	s, err := m.Acquire(context.Background(), get("/ok"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &bodyRecorder{}
	if err := s.Do(ctx, get("/ok"), rec); err != nil {
		t.Fatalf("Do = %v", err)
	}
	if rec.body.String() != "/ok" || s.broken.Load() {
		t.Errorf("body %q, broken %v", rec.body.String(), s.broken.Load())
	}
}
