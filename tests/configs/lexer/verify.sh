#!/bin/bash
# Check every tests/configs/lexer/*.conf against its "# expect: N" header with the real keepalived
# (`keepalived -t`) and with ours. Usage: verify.sh [path/to/our/keepalived]
# The files in inc/ are only included by the others.
here=$(cd "$(dirname "$0")" && pwd)
ours=${1:-$here/../../../target/debug/keepalived}
fail=0
for f in "$here"/*.conf; do
    want=$(sed -n "s/^# expect: //p" "$f" | tr -d "\r" | head -1)
    args=$(sed -n 's/^# args: //p' "$f" | head -1)
    # shellcheck disable=SC2086
    ref=$(timeout 10 keepalived -t -f "$f" $args >/dev/null 2>&1; echo $?)
    # shellcheck disable=SC2086
    got=$("$ours" -t -f "$f" $args >/dev/null 2>&1; echo $?)
    status=ok
    if [ "$ref" != "$want" ] || [ "$got" != "$want" ]; then status=MISMATCH; fail=1; fi
    printf '%-36s expect %s keepalived %s ours %s %s\n' "$(basename "$f")" "$want" "$ref" "$got" "$status"
done
exit $fail
