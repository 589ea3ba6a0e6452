#!/usr/bin/env bash
# check-tracked.sh fails when git tracks a file that does not belong in the
# repository: anything over 1 MB, or a compiled executable (ELF, Mach-O or
# PE), whatever its name. Build outputs go to ignored folders (bin/, _build/).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"

limit=$((1024 * 1024))
bad=0
while IFS= read -r -d '' f; do
	[ -f "$f" ] || continue # deleted in the work tree, or a submodule
	size=$(stat -c %s -- "$f")
	if [ "$size" -gt "$limit" ]; then
		echo "check-tracked: $f is $size bytes; tracked files must be at most 1 MB" >&2
		bad=1
	fi
	magic=$(head -c 4 -- "$f" | od -An -tx1 | tr -d ' \n')
	case "$magic" in
	7f454c46) kind="an ELF executable" ;;
	cffaedfe | cefaedfe | feedfacf | feedface) kind="a Mach-O executable" ;;
	4d5a*) kind="a PE executable" ;;
	*) kind="" ;;
	esac
	if [ -n "$kind" ]; then
		echo "check-tracked: $f is $kind; build outputs are not committed" >&2
		bad=1
	fi
done < <(git ls-files -z)
exit "$bad"
