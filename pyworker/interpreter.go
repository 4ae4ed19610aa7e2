package pyworker

// Interpreter discovery: which python runs the workers when the user did not
// say. gowsgi never links libpython, so the interpreter is always the user's
// own, found here once at start.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNoPython is returned when no Python interpreter can be found or run.
var ErrNoPython = errors.New("no python interpreter found")

// FindPython picks the interpreter that runs the workers, first match wins:
//
//  1. explicit (the --python flag, ini python);
//  2. home/bin/python (ini home, virtualenv, venv);
//  3. $VIRTUAL_ENV/bin/python (an activated virtualenv);
//  4. the python beside the running gowsgi, when gowsgi itself lives in a
//     virtualenv's bin/ (pip install put it there);
//  5. python3 on PATH.
//
// Step 4 is for VENV/bin/gowsgi run by absolute path with nothing activated
// (a systemd ExecStart, a Docker CMD, cron): the virtualenv it was installed
// into is the one that has the app's packages, while python3 on PATH is
// usually the system's, without Django. It comes after $VIRTUAL_ENV so that
// a gowsgi installed in one virtualenv can still serve another, activated one.
func FindPython(explicit, home string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		exe = "" // no /proc: step 4 is skipped, the others still apply
	}
	return findPython(explicit, home, os.Getenv("VIRTUAL_ENV"), exe)
}

// findPython is FindPython with its environment passed in, for the tests.
func findPython(explicit, home, virtualEnv, exe string) (string, error) {
	var tried []string
	check := func(p, why string) (string, bool) {
		if p == "" {
			return "", false
		}
		tried = append(tried, fmt.Sprintf("%s (%s)", p, why))
		if !strings.ContainsRune(p, '/') {
			found, err := exec.LookPath(p)
			if err != nil {
				return "", false
			}
			p = found
		}
		st, err := os.Stat(p)
		if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return "", false
		}
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		return p, true
	}
	if explicit != "" {
		if p, ok := check(explicit, "--python"); ok {
			return p, nil
		}
		return "", fmt.Errorf("%w: %s is not an executable file", ErrNoPython, explicit)
	}
	if home != "" {
		if p, ok := check(filepath.Join(home, "bin", "python"), "virtualenv home"); ok {
			return p, nil
		}
		return "", fmt.Errorf("%w: virtualenv %s has no bin/python", ErrNoPython, home)
	}
	if virtualEnv != "" {
		if p, ok := check(filepath.Join(virtualEnv, "bin", "python"), "$VIRTUAL_ENV"); ok {
			return p, nil
		}
	}
	if venv := exeVirtualenv(exe); venv != "" {
		for _, name := range []string{"python", "python3"} {
			if p, ok := check(filepath.Join(venv, "bin", name), "the virtualenv gowsgi is installed in"); ok {
				return p, nil
			}
		}
	}
	if p, ok := check("python3", "PATH"); ok {
		return p, nil
	}
	return "", fmt.Errorf("%w: tried %s", ErrNoPython, strings.Join(tried, ", "))
}

// exeVirtualenv returns the virtualenv whose bin/ holds exe, or "". A
// virtualenv is recognised by its pyvenv.cfg (PEP 405), which venv,
// virtualenv and uv all write; a bin/ without one (/usr/local/bin, ~/go/bin)
// is not a virtualenv, and python3 on PATH is the better guess there.
func exeVirtualenv(exe string) string {
	if exe == "" {
		return ""
	}
	bin := filepath.Dir(exe)
	if filepath.Base(bin) != "bin" {
		return ""
	}
	venv := filepath.Dir(bin)
	if st, err := os.Stat(filepath.Join(venv, "pyvenv.cfg")); err != nil || !st.Mode().IsRegular() {
		return ""
	}
	return venv
}
