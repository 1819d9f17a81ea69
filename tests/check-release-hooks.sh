#!/bin/sh
# A release build (configure without --enable-test-hooks) compiles no kill
# point: every source file of src/ that uses POP3_POLICY_TEST_POINT(), and
# the hook's implementation, compiled without POP3_POLICY_TEST_HOOKS must
# neither call pop3_policy_test_point() nor contain the name of the
# environment variable it reads; compiled with it, they must (else this
# check could not fail). Whatever the build directory was configured with.
# Output: Dovecot test-common's lines (tests/run-one makes TAP of them).
#
# Environment (from tests/Makefile.am): PP_TOP_SRCDIR, PP_CC, PP_CFLAGS
# (the build's CFLAGS and the Dovecot include flags).

srcdir=${PP_TOP_SRCDIR:?}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pp-release-hooks.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

includes=
for dir in "$srcdir/include" "$srcdir"/src/*; do
	[ -d "$dir" ] && includes="$includes -I$dir"
done
# the build's CFLAGS without the test build's define
cflags=$(printf '%s\n' "$PP_CFLAGS" | sed 's/-DPOP3_POLICY_TEST_HOOKS//g')

files=$(grep -rl --include='*.c' 'POP3_POLICY_TEST_POINT\|POP3_POLICY_TEST_HOOKS' "$srcdir/src")
failed=0
total=0
for file in $files; do
	name=${file#"$srcdir/"}
	total=$((total + 1))
	# shellcheck disable=SC2086
	if ! $PP_CC $cflags $includes -c -o "$tmp/release.o" "$file" 2>"$tmp/err" ||
	   ! $PP_CC $cflags -DPOP3_POLICY_TEST_HOOKS $includes -c \
		-o "$tmp/test.o" "$file" 2>>"$tmp/err"; then
		echo "$name compiles ..... : FAILED: $(head -n 5 "$tmp/err")"
		failed=$((failed + 1))
		continue
	fi
	if nm "$tmp/release.o" | grep -q pop3_policy_test_point ||
	   strings "$tmp/release.o" | grep -q POP3_POLICY_TEST_KILL_AT; then
		echo "$name has no kill point in a release build ..... : FAILED"
		failed=$((failed + 1))
	elif ! nm "$tmp/test.o" | grep -q pop3_policy_test_point; then
		echo "$name has its kill points in a test build ..... : FAILED"
		failed=$((failed + 1))
	else
		echo "$name: kill points in a test build only ..... : ok"
	fi
done
if [ "$total" = 0 ]; then
	echo "kill points found in src/ ..... : FAILED: no file uses POP3_POLICY_TEST_POINT"
	total=1
	failed=1
fi
echo "$failed / $total tests failed"
[ "$failed" = 0 ]
