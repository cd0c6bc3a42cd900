#!/usr/bin/env bash
# Fails, naming each file, when a tracked C file differs from what the
# repo's .clang-format makes of it (STYLE.md: applied to all C).
# Fix with: clang-format -i FILE
set -uo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || {
	echo "check-format: clang-format not found (tools/setup-deps.sh installs it)" >&2
	exit 1
}
bad=0 n=0
while IFS= read -r -d '' f; do
	n=$((n + 1))
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "check-format: $f is not formatted (clang-format -i $f)" >&2
		bad=$((bad + 1))
	fi
done < <(git ls-files -z -- '*.c' '*.h')
if [ "$n" -eq 0 ]; then
	echo "check-format: no C files found (not a git checkout?)" >&2
	exit 1
fi
echo "check-format: $n files, $bad not formatted"
[ "$bad" -eq 0 ]
