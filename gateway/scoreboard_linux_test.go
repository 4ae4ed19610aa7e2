package gateway

import (
	"strings"
	"testing"
)

// TestScoreboardBalance: a worker takes a connection while it holds at
// most one more than the accepting worker with the fewest; a worker that
// stopped accepting is not counted.
func TestScoreboardBalance(t *testing.T) {
	_, f, err := CreateScoreboard(2, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	open := func(row int) *Scoreboard {
		b, err := OpenScoreboard(int(f.Fd()), 2, 1)
		if err != nil {
			t.Fatal(err)
		}
		b.Claim(row, 1000+row)
		return b
	}
	a, b := open(0), open(1)
	steps := []struct {
		a, b int // open connections
		want bool
	}{
		{0, 0, true},
		{1, 0, true}, // one waiting for its request is no reason to leave the next to b
		{2, 0, false},
		{2, 1, true},
		{5, 3, false},
	}
	for _, s := range steps {
		for n := 0; n < s.b; n++ {
			b.Opened()
		}
		if got := a.MayAccept(s.a); got != s.want {
			t.Errorf("a with %d, b with %d: MayAccept = %v, want %v", s.a, s.b, got, s.want)
		}
		for n := 0; n < s.b; n++ {
			b.Closed()
		}
	}
	b.Opened()
	b.StopAccepting()
	if !a.MayAccept(9) {
		t.Errorf("b stopped accepting, yet a may not take a tenth connection")
	}
}

// TestScoreboardBegin: a thread's slot says "METHOD path", cut to the
// slot's size, until End.
func TestScoreboardBegin(t *testing.T) {
	_, f, err := CreateScoreboard(1, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := OpenScoreboard(int(f.Fd()), 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	b.Claim(0, 1000)
	long := "/" + strings.Repeat("x", 300)
	b.Begin(0, "GET", "/items/?page=2")
	b.Begin(1, "POST", long)
	busy := b.Busy()
	if len(busy) != 2 {
		t.Fatalf("Busy = %+v, want 2 threads", busy)
	}
	if got := busy[0].Request; got != "GET /items/?page=2" {
		t.Errorf("thread 0: %q, want %q", got, "GET /items/?page=2")
	}
	if got, want := busy[1].Request, ("POST " + long)[:boardPathSize]; got != want {
		t.Errorf("thread 1: %q, want the first %d bytes of the line", got, boardPathSize)
	}
	b.End(0)
	if busy := b.Busy(); len(busy) != 1 || busy[0].Thread != 1 {
		t.Errorf("after End(0): %+v, want thread 1 only", busy)
	}
}
