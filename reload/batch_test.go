package reload

import (
	"slices"
	"testing"
	"time"
)

// The batcher is driven by hand here (flush is what the timer's fire
// does), so these tests need no clock.
func TestBatcher(t *testing.T) {
	onDisk := map[string]bool{"a.py": true, "static/x.css": true, "reload.ini": true, "templates/t.html": true}
	newB := func() *batcher {
		b := newBatcher(time.Hour, func(p string) bool { return onDisk[p] })
		t.Cleanup(func() { b.timer.Stop() })
		return b
	}
	now := time.Now()

	type add struct {
		path          string
		code, created bool
	}
	tests := []struct {
		name   string
		rounds [][]add // each round is followed by a flush
		rescan bool    // addRescan before the last flush
		want   *Batch
	}{
		{
			name:   "one path",
			rounds: [][]add{{{path: "a.py"}}},
			want:   &Batch{Paths: []string{"a.py"}, Kind: KindCode},
		},
		{
			name:   "unique and sorted",
			rounds: [][]add{{{path: "static/x.css"}, {path: "a.py"}, {path: "static/x.css"}}},
			want:   &Batch{Paths: []string{"a.py", "static/x.css"}, Kind: KindCode},
		},
		{
			name:   "single files are code",
			rounds: [][]add{{{path: "reload.ini"}, {path: "static/x.css", code: true}}},
			want:   &Batch{Paths: []string{"reload.ini", "static/x.css"}, Kind: KindCode},
		},
		{
			name:   "created and gone again is dropped",
			rounds: [][]add{{{path: ".a.py.x7", created: true}, {path: "static/x.css"}}},
			want:   &Batch{Paths: []string{"static/x.css"}, Kind: KindStatic},
		},
		{
			name:   "removed is kept",
			rounds: [][]add{{{path: "gone.py"}}},
			want:   &Batch{Paths: []string{"gone.py"}, Kind: KindCode},
		},
		{
			name:   "nothing left",
			rounds: [][]add{{{path: "tmp123", created: true}}},
			want:   nil,
		},
		{
			name:   "unread batch absorbs the next",
			rounds: [][]add{{{path: "static/x.css"}}, {{path: "templates/t.html"}}},
			want:   &Batch{Paths: []string{"static/x.css", "templates/t.html"}, Kind: KindTemplate},
		},
		{
			name:   "rescan",
			rounds: [][]add{{{path: "static/x.css"}}},
			rescan: true,
			want:   &Batch{Paths: []string{"static/x.css"}, Kind: KindCode, Rescan: true},
		},
		{
			name:   "rescan alone",
			rounds: [][]add{{}},
			rescan: true,
			want:   &Batch{Kind: KindCode, Rescan: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newB()
			for i, round := range tc.rounds {
				for _, a := range round {
					b.add(a.path, a.code, a.created, now)
				}
				if tc.rescan && i == len(tc.rounds)-1 {
					b.addRescan(now)
				}
				b.flush(nil)
			}
			ch, got := b.out(make(chan Batch))
			if tc.want == nil {
				if ch != nil {
					t.Fatalf("got batch %+v, want none", got)
				}
				return
			}
			if ch == nil {
				t.Fatal("no batch ready")
			}
			if !slices.Equal(got.Paths, tc.want.Paths) || got.Kind != tc.want.Kind || got.Rescan != tc.want.Rescan {
				t.Errorf("got %+v, want %+v", got, *tc.want)
			}
			b.sent()
			if ch, _ := b.out(make(chan Batch)); ch != nil {
				t.Error("batch still ready after sent")
			}
		})
	}
}

// The timer is pushed back by each change, but never past maxWait after
// the first, so a tree that never goes quiet still reloads.
func TestBatcherMaxWait(t *testing.T) {
	b := newBatcher(time.Hour, func(string) bool { return true })
	defer b.timer.Stop()
	start := time.Now()
	b.add("a.py", false, false, start)
	b.add("a.py", false, false, start.Add(b.maxWait))
	select {
	case <-b.timer.C:
	case <-time.After(arriveTimeout):
		t.Fatal("timer not due at maxWait after the first change")
	}
}

func TestDropUnder(t *testing.T) {
	b := newBatcher(time.Hour, func(string) bool { return true })
	defer b.timer.Stop()
	for _, p := range []string{"env/lib/six.py", "env.py", "environ/x.py"} {
		b.add(p, false, false, time.Now())
	}
	b.dropUnder("env/")
	b.flush(nil)
	if _, got := b.out(make(chan Batch)); !slices.Equal(got.Paths, []string{"env.py", "environ/x.py"}) {
		t.Errorf("got %v", got.Paths)
	}
}
