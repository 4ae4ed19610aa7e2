package reload

// This file turns a stream of events into batches: one timer, pushed back
// by every event, so a burst of changes becomes one batch.

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// DefaultDebounce is the quiet period before a batch is delivered. An
// editor's save (write a temporary file, rename it over the real one,
// chmod) and a `git checkout` of many files each take a few milliseconds
// between events, well inside 100ms, so each lands in one batch and costs
// one reload; and 100ms after the last event is still too short for a
// person switching to the browser to notice.
const DefaultDebounce = 100 * time.Millisecond

// maxWaitFactor bounds how long a batch can be held back: a tree that never
// goes quiet (a build tool rewriting a watched file every 50ms) would
// otherwise push the timer back forever and never reload.
const maxWaitFactor = 20

// Batch is one debounced set of changes.
type Batch struct {
	// Paths are the changed paths, sorted and unique. A path under the
	// root is slash-separated and relative to it ("polls/views.py"); a
	// file outside the root (Options.Files, WatchFiles) is absolute. A
	// directory that was removed or moved away ends in a slash.
	Paths []string

	// Kind is the greatest Kind of Paths (see Classify); a file watched
	// with Options.Files or WatchFiles is always KindCode.
	Kind Kind

	// Rescan reports that the kernel dropped events (queue overflow): the
	// tree was rescanned, Paths may be incomplete and Kind is KindCode.
	Rescan bool
}

// pendingPath is what the batcher knows of one path in the open batch.
type pendingPath struct {
	code bool // watched one by one: KindCode whatever its name
	born bool // its first event in this batch was its creation
}

// batcher collects paths until the timer fires, then holds the batch until
// the consumer takes it; changes that arrive meanwhile are merged into it,
// so a slow consumer gets fewer, larger batches and nothing is lost.
type batcher struct {
	quiet, maxWait time.Duration
	timer          *time.Timer
	exists         func(display string) bool

	pending map[string]pendingPath
	first   time.Time // when the open batch got its first path
	rescan  bool      // events were lost during the open batch
	ready   *Batch    // flushed, not yet received
}

func newBatcher(quiet time.Duration, exists func(string) bool) *batcher {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &batcher{
		quiet:   quiet,
		maxWait: maxWaitFactor * quiet,
		timer:   t,
		exists:  exists,
		pending: map[string]pendingPath{},
	}
}

// add records a change to p (a display path) and pushes the timer back.
// created says the event was p's creation.
func (b *batcher) add(p string, code, created bool, now time.Time) {
	b.touch(now)
	e, ok := b.pending[p]
	if !ok {
		e.born = created
	}
	e.code = e.code || code
	b.pending[p] = e
}

// has reports whether p is in the open or the ready batch.
func (b *batcher) has(p string) bool {
	if _, ok := b.pending[p]; ok {
		return true
	}
	return b.ready != nil && slices.Contains(b.ready.Paths, p)
}

// dropUnder removes the paths under the directory prefix (which ends in a
// slash) from the open batch.
func (b *batcher) dropUnder(prefix string) {
	for p := range b.pending {
		if strings.HasPrefix(p, prefix) {
			delete(b.pending, p)
		}
	}
}

// addRescan marks the open batch as following lost events.
func (b *batcher) addRescan(now time.Time) {
	b.touch(now)
	b.rescan = true
}

// touch (re)starts the one timer: quiet after now, but no later than
// maxWait after the batch's first change.
func (b *batcher) touch(now time.Time) {
	if len(b.pending) == 0 && !b.rescan {
		b.first = now
	}
	wait := min(b.quiet, b.first.Add(b.maxWait).Sub(now))
	// Since Go 1.23 Reset also discards a fire that was not received yet.
	b.timer.Reset(wait)
}

// flush closes the open batch into the ready one. A path that was created
// during the batch and is gone again (a temporary file by a name the
// filter does not know) is dropped: nothing changed there.
func (b *batcher) flush(imported map[string]bool) {
	set := map[string]bool{}
	kind := KindOther
	rescan := b.rescan
	if b.ready != nil {
		for _, p := range b.ready.Paths {
			set[p] = true
		}
		kind = b.ready.Kind
		rescan = rescan || b.ready.Rescan
	}
	for p, e := range b.pending {
		if e.born && !b.exists(p) {
			continue
		}
		set[p] = true
		k := KindCode
		if !e.code {
			k = Classify(p, imported)
		}
		kind = max(kind, k)
	}
	if rescan {
		kind = KindCode
	}
	clear(b.pending)
	b.rescan = false
	if len(set) == 0 && !rescan {
		return
	}
	b.ready = &Batch{Paths: slices.Sorted(maps.Keys(set)), Kind: kind, Rescan: rescan}
}

// out returns the channel to offer the ready batch on, or nil (which a
// select never picks) when there is none.
func (b *batcher) out(ch chan Batch) (chan<- Batch, Batch) {
	if b.ready == nil {
		return nil, Batch{}
	}
	return ch, *b.ready
}

// sent records that the ready batch was received.
func (b *batcher) sent() { b.ready = nil }
