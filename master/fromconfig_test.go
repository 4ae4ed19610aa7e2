package master

import "testing"

func TestStrftimeOf(t *testing.T) {
	for in, want := range map[string]string{"": "", "true": "%a %b %e %H:%M:%S %Y", "1": "%a %b %e %H:%M:%S %Y", "%Y": "%Y"} {
		if got := strftimeOf(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
