package gateway

import "testing"

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
