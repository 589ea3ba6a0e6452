#!/usr/bin/env bash
# Prints plumb's version and build date for the linker (see the Makefile):
#   VERSION DATE
# VERSION is a semantic version: the tag when HEAD is tagged vX.Y.Z,
# `git describe` past the last such tag (v1.2.3-4-gabcdef012345), or, with
# no tag yet, a Go pseudo-version of the commit (v0.0.0-20261205130303-
# abcdef012345); "+dirty" is added for a tree with uncommitted changes.
# DATE is the commit's time in UTC (RFC 3339): the same commit always
# builds the same binary. Outside a Git checkout: v0.0.0-dev and no date.
set -euo pipefail

if ! git rev-parse --git-dir >/dev/null 2>&1; then
	echo "v0.0.0-dev unknown"
	exit 0
fi
date=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ)
if version=$(git describe --tags --match 'v[0-9]*.[0-9]*.[0-9]*' --abbrev=12 2>/dev/null); then
	:
else
	stamp=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S)
	version="v0.0.0-${stamp}-$(git rev-parse --short=12 HEAD)"
fi
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	version="${version}+dirty"
fi
echo "$version $date"
