#!/bin/sh
# What an admin sees from vmgatectl: runs it on the files in tests/data and
# compares stdout+stderr with the matching .out file exactly, and the exit
# status; then checks vmgatectl passwd end to end.
#
# usage: vmgatectl_test.sh PATH/TO/vmgatectl PATH/TO/tests/data
set -u
ctl=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# run NAME WANT_STATUS DIR ARGS...: run vmgatectl ARGS in DIR; its output
# must be $data/NAME.out
run() {
	name=$1 want=$2 dir=$3
	shift 3
	(cd "$dir" && "$ctl" "$@") >"$tmp/$name.got" 2>&1
	status=$?
	if ! diff -u "$data/$name.out" "$tmp/$name.got"; then
		fail "$name: output differs (above)"
	fi
	[ "$status" = "$want" ] || fail "$name: exit status $status, want $want"
}

run good 0 "$data" check --config good.yaml
run warn 0 "$data" check --config good.yaml --policy warn-policy.yaml
# password hashes of several kinds and costs: a warning at each odd one
run mixed-hashes 0 "$data" check --config good.yaml --policy mixed-hashes-policy.yaml
run empty-policy 0 "$data" check --config good.yaml --policy empty-policy.yaml
run bad-config 1 "$data" check --config bad-config.yaml
run bad-recordings 1 "$data" check --config bad-recordings.yaml
run bad-ssh 1 "$data" check --config bad-ssh.yaml
run bad-policy 1 "$data" check --config=good.yaml --policy=bad-policy.yaml
run syntax 1 "$data" check --config syntax.yaml
run missing 1 "$data" check --config nope.yaml --policy good-policy.yaml
run files 0 "$data" check --config files.yaml

# no --config: ./vmgate.yaml, and the policy it names next to it
mkdir "$tmp/default"
cp "$data/good.yaml" "$tmp/default/vmgate.yaml"
cp "$data/good-policy.yaml" "$tmp/default/"
run good 0 "$tmp/default" check
run no-default 1 "$tmp" check

# --policy with no ./vmgate.yaml: that policy alone, errors and all; with
# one, it is cross-checked against it (warnings about VM names)
mkdir "$tmp/policy-only"
cp "$data/good-policy.yaml" "$data/warn-policy.yaml" "$data/bad-policy.yaml" "$tmp/policy-only/"
run policy-only 0 "$tmp/policy-only" check --policy good-policy.yaml
run policy-only-bad 1 "$tmp/policy-only" check --policy bad-policy.yaml
cp "$data/warn-policy.yaml" "$tmp/default/"
run warn 0 "$tmp/default" check --policy warn-policy.yaml

# a config in another folder: its policy is found next to it
run good-elsewhere 0 "$data/.." check --config data/good.yaml

# too big to be read at all
head -c 1048577 /dev/zero | tr '\0' '#' >"$tmp/big.yaml"
run big 1 "$tmp" check --config big.yaml

# usage errors: exit 2, the usage on stderr
run usage-none 2 "$data"
run usage-command 2 "$data" frob
run usage-option 2 "$data" check --bogus
run usage-noarg 2 "$data" check --config
run usage-extra 2 "$data" check extra
run usage-passwd 2 "$data" passwd extra
run help 0 "$data" --help

# passwd from stdin: one yescrypt hash that crypt(3) accepts for the
# password, salted differently each time
h1=$(printf 'correct horse\n' | "$ctl" passwd) || fail "passwd: exit $?"
h2=$(printf 'correct horse' | "$ctl" passwd) || fail "passwd: exit $?"
echo "$h1" | grep -Eq '^\$y\$[./A-Za-z0-9]+\$[./A-Za-z0-9]+\$[./A-Za-z0-9]{43}$' ||
	fail "passwd: not a yescrypt hash: $h1"
[ "$h1" != "$h2" ] || fail "passwd: same salt twice"
for h in "$h1" "$h2"; do
	perl -e 'exit(crypt($ARGV[0], $ARGV[1]) eq $ARGV[1] ? 0 : 1)' \
		'correct horse' "$h" || fail "passwd: $h does not verify"
	perl -e 'exit(crypt($ARGV[0], $ARGV[1]) eq $ARGV[1] ? 0 : 1)' \
		'correct horsE' "$h" && fail "passwd: $h verifies a wrong one"
done
# and vmgatectl check takes it as a password
printf 'users:\n  u: {password: "%s"}\n' "$h1" >"$tmp/default/pw.yaml"
out=$(cd "$tmp/default" && "$ctl" check --policy pw.yaml 2>&1) ||
	fail "passwd: check rejects the hash: $out"
[ "$out" = "OK: 1 users, 0 groups, 0 rules, 3 vms" ] || fail "passwd: $out"

out=$(printf '' | "$ctl" passwd 2>&1) && fail "passwd: empty stdin accepted"
[ "$out" = "vmgatectl passwd: empty password" ] || fail "passwd: $out"
out=$(printf '\n' | "$ctl" passwd 2>&1) && fail "passwd: empty line accepted"
out=$(head -c 2000 /dev/zero | tr '\0' 'a' | "$ctl" passwd 2>&1) &&
	fail "passwd: 2000 bytes accepted"
[ "$out" = "vmgatectl passwd: password longer than 1024 bytes" ] ||
	fail "passwd: $out"

# passwd on a terminal: no echo, asked twice, must match
python3 - "$ctl" <<'PY' || fail "passwd on a terminal (above)"
import os, pty, sys, select

def run(answers):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.argv[1], [sys.argv[1], "passwd"])
    seen = b""
    for a in answers:
        # wait for the prompt before typing, as a person would
        while not seen.rstrip().endswith(b":"):
            r, _, _ = select.select([fd], [], [], 10)
            if not r:
                raise SystemExit("no prompt, got %r" % seen)
            seen += os.read(fd, 1024)
        os.write(fd, a + b"\n")
        seen += b"|"
    while True:
        r, _, _ = select.select([fd], [], [], 10)
        if not r:
            break
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen.decode()

code, out = run([b"hunter2", b"hunter2"])
if code != 0 or "hunter2" in out or "Password: " not in out \
        or "Retype password: " not in out or "$y$" not in out:
    raise SystemExit("match: exit %d, output %r" % (code, out))
code, out = run([b"hunter2", b"hunter3"])
if code != 1 or "the passwords do not match" not in out or "$y$" in out:
    raise SystemExit("mismatch: exit %d, output %r" % (code, out))
PY

if [ "$failures" -ne 0 ]; then
	echo "$failures failure(s)"
	exit 1
fi
echo "all vmgatectl checks passed"
