#!/bin/sh
# The project's files speak of the product alone: no work-session numbers,
# issue numbers or references to sections of the product contract. The
# history belongs in git log. This test lists every line of the source tree
# that matches
#   \b(session|issue) [0-9]+\b      (case-insensitive), but not a
#                                   measurement (a decimal or a range)
#   SPEC( section)? [0-9]           (case-insensitive)
# and fails naming each one.
#
# Output is Dovecot test-common's format ("name ..... : ok|FAILED: why" and
# a final "N / M tests failed"), which tests/run-one turns into TAP.
#
# The files: `git ls-files` of the source tree when it is a git checkout,
# otherwise (a dist tarball) every file under it except build and
# autotools output. *.sql files are left out.

set -u

srcdir=${PP_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$srcdir" || {
	echo "history words ..... : FAILED: cannot enter $srcdir"
	echo "1 / 1 tests failed"
	exit 1
}

list=$(mktemp "${TMPDIR:-/tmp}/pp-history-words.XXXXXX") || exit 99
hits=$list.hits
trap 'rm -f "$list" "$hits"' EXIT

if git rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
   [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$(pwd -P)" ]; then
	git ls-files -z >"$list"
else
	find . \( -name .git -o -name _build -o -name autom4te.cache \
		-o -name .deps -o -name .libs \) -prune -o \
		-type f ! -name '*.sql' ! -name '*.log' ! -name '*.trs' \
		! -name '*.o' ! -name '*.lo' ! -name '*.la' ! -name '*.a' \
		! -name 'Makefile' ! -name 'Makefile.in' ! -name 'configure' \
		! -name 'config.*' ! -name 'aclocal.m4' -print0 >"$list"
fi

# -I skips binary files; files listed by git but absent (deleted in the
# work tree) are skipped without a message.
tr '\0' '\n' <"$list" | grep -v '\.sql$' | while IFS= read -r f; do
	[ -f "$f" ] || continue
	grep -n -H -I -i -E \
		'\b(session|issue) [0-9]+([^.,0-9-]|$)|SPEC( section)? [0-9]' \
		"$f" 2>/dev/null
done >"$hits"

n=$(wc -l <"$hits" | tr -d ' ')
if [ "$n" -eq 0 ]; then
	echo "no session, issue or SPEC numbers in the source tree ..... : ok"
	echo "0 / 1 tests failed"
	exit 0
fi

# One FAILED line per hit: file, line and the matched words (not the whole
# line, which may be long).
while IFS= read -r line; do
	loc=${line%%:*}
	rest=${line#*:}
	lno=${rest%%:*}
	text=${rest#*:}
	words=$(printf '%s\n' "$text" | grep -o -i -E \
		'\b(session|issue) [0-9]+\b|SPEC( section)? [0-9][0-9.]*' |
		tr '\n' ',' | sed 's/,$//; s/,/, /g')
	echo "history words in $loc:$lno ..... : FAILED: $words"
done <"$hits"
echo "$n / $n tests failed"
exit 1
