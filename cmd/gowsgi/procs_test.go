package main

import "testing"

func TestMasterProcs(t *testing.T) {
	for _, tc := range []struct{ cpus, want int }{
		{0, 1}, {1, 1}, {2, 1}, {3, 2}, {4, 2}, {8, 4}, {64, 32},
	} {
		if got := masterProcs(tc.cpus); got != tc.want {
			t.Errorf("masterProcs(%d) = %d, want %d", tc.cpus, got, tc.want)
		}
	}
}
