#!/usr/bin/env bash
# Lint the GitHub Actions workflows (.github/workflows) with actionlint, built
# from the Go module proxy into the git-ignored .tools/ on first use. The
# release workflow cannot run on a development machine; this is what checks
# it there: YAML and schema, expressions and the matrix properties they use,
# runner labels, action inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=v1.7.12
BIN=.tools/actionlint
if ! [ -x "$BIN" ] || [ "$("$BIN" -version | head -1)" != "$VERSION" ]; then
	echo "actionlint: installing $VERSION into .tools/"
	GOBIN="$PWD/.tools" go install "github.com/rhysd/actionlint/cmd/actionlint@$VERSION"
fi
files=(.github/workflows/*.yml)
# -shellcheck= and -pyflakes=: the same checks on every machine, whether or
# not those tools happen to be installed.
"$BIN" -no-color -shellcheck= -pyflakes= "${files[@]}"
echo "actionlint: ${#files[@]} workflow(s) clean: ${files[*]}"
