package master

import (
	"testing"

	"github.com/gowsgi/gowsgi/gateway"
)

func TestStrftimeOf(t *testing.T) {
	for in, want := range map[string]string{"": "", "true": "%a %b %e %H:%M:%S %Y", "1": "%a %b %e %H:%M:%S %Y", "%Y": "%Y"} {
		if got := gateway.StrftimeOf(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
