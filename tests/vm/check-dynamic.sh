#!/bin/bash
# Runs inside the VM (see run-in-vm.sh), from check-director.sh or alone: MISC_CHECK misc_dynamic
# weights, notify_up/notify_down, quorum_up/quorum_down and omega, for keepalived 2.2.7 and for
# ours, one after the other in a fresh netns. The scripts' exit codes come from files that a
# fixed sequence of steps rewrites; after each step both IPVS tables (`ipvsadm -Sn`) must be
# equal, and so must the notify scripts' marker lines and keepalived's health log lines (as
# sorted lists: scripts run asynchronously and checkers in parallel, so order is not stable).
# The TCG VM can take over a second to fork a script: misc_timeout is generous and each step
# lasts three delay_loops (KARD_DYN_STEP seconds).
# Usage: check-dynamic.sh OUR_KEEPALIVED [REFERENCE_KEEPALIVED]
set -u
OURS=$1
REF=${2:-/usr/sbin/keepalived}
W=/tmp/dyn
mkdir -p "$W"
STEP_S=${KARD_DYN_STEP:-6}
die() { echo "check-dynamic: $*"; exit 1; }

printf '#!/bin/bash\nexit $(cat %s/code.$1)\n' "$W" > "$W/misc.sh"
printf '#!/bin/bash\necho "$#:$*" >> %s/notes\n' "$W" > "$W/note.sh"
chmod +x "$W/misc.sh" "$W/note.sh"

cat > "$W/dyn.conf" <<CONF
global_defs { router_id dyn }
virtual_server 10.9.9.9 80 {
 delay_loop 2
 lb_algo wrr
 lb_kind NAT
 protocol TCP
 quorum 6
 quorum_up "$W/note.sh QUP1 'a b'"
 quorum_down "$W/note.sh QDOWN1"
 real_server 10.0.1.2 80 {
  weight 5
  notify_up "$W/note.sh UP_A"
  notify_down "$W/note.sh DOWN_A"
  MISC_CHECK {
   misc_timeout 10
   misc_path "$W/misc.sh A"
   misc_dynamic
  }
 }
 real_server 10.0.2.2 80 {
  weight 1
  inhibit_on_failure
  notify_up "$W/note.sh UP_B"
  notify_down "$W/note.sh DOWN_B"
  MISC_CHECK {
   misc_timeout 10
   misc_path "$W/misc.sh B"
   misc_dynamic
  }
 }
 real_server 10.0.5.2 80 {
  weight 2
  inhibit_on_failure
  MISC_CHECK {
   misc_timeout 10
   misc_path "$W/misc.sh E"
  }
 }
}
virtual_server 10.9.9.10 80 {
 delay_loop 2
 lb_algo rr
 lb_kind NAT
 protocol TCP
 omega
 sorry_server 10.0.9.2 80
 quorum_up "$W/note.sh QUP2"
 quorum_down "$W/note.sh QDOWN2"
 real_server 10.0.3.2 80 {
  notify_up "$W/note.sh UP_C"
  notify_down "$W/note.sh DOWN_C"
  MISC_CHECK {
   misc_timeout 10
   misc_path "$W/misc.sh C"
  }
 }
 real_server 10.0.4.2 80 {
  weight 3
  notify_up "$W/note.sh UP_D"
  notify_down "$W/note.sh DOWN_D"
  MISC_CHECK {
   misc_timeout 10
   misc_path "$W/misc.sh D"
   misc_dynamic
  }
  MISC_CHECK {
   misc_timeout 10
   misc_path "$W/misc.sh D2"
   misc_dynamic
  }
 }
}
CONF

# Each step: "CHECKER=CODE ..." written before the step's wait.
STEPS=("A=10" "A=0" "A=3" "A=12" "B=1" "B=7" "A=1" "A=0" "D=12" "D2=7" "D=1" "D=0" "C=1 B=1")
HEALTH='(Changing weight|Gained quorum|Lost quorum|Shutting down|Removing service|Adding service|Enabling service|Disabling service).*'

# run_one NAME BINARY: tables per step in $W/NAME.tables, notes in $W/NAME.notes, lines in $W/NAME.lines.
run_one() {
  local name=$1 bin=$2 i=0 s
  for c in A B E C D D2; do echo 0 > "$W/code.$c"; done
  rm -f "$W/notes"; : > "$W/$name.tables"
  ip netns add dyn || die "ip netns add"
  ip -n dyn link set lo up
  ip netns exec dyn "$bin" -C -n -l -f "$W/dyn.conf" -p "$W/$name.pid" -c "$W/$name-c.pid" > "$W/$name.log" 2>&1 &
  local daemon=$!
  # Steps start once the start table is in (a debug build starts slowly under TCG).
  local n=0 tries=0
  while [ $n -lt 5 ] && [ $tries -lt 150 ]; do
    n=$(ip netns exec dyn ipvsadm -Sn | grep -c -- '-a')
    tries=$((tries + 1)); sleep 0.2
  done
  [ $n -ge 5 ] || die "$name: start table not programmed"
  for s in "${STEPS[@]}"; do
    i=$((i + 1))
    for kv in $s; do echo "${kv#*=}" > "$W/code.${kv%%=*}"; done
    sleep "$STEP_S"
    { echo "step $i ($s)"; ip netns exec dyn ipvsadm -Sn | grep -- '-a' | sort; } >> "$W/$name.tables"
  done
  kill -TERM $daemon; wait $daemon
  sleep 1  # omega scripts run asynchronously
  { echo "after stop"; ip netns exec dyn ipvsadm -Sn; } >> "$W/$name.tables"
  ip netns del dyn
  sort "$W/notes" > "$W/$name.notes"
  grep -oE "$HEALTH" "$W/$name.log" | sort > "$W/$name.lines"
}

run_one ref "$REF"
run_one ours "$OURS"
rc=0
for part in tables notes lines; do
  if diff -u "$W/ref.$part" "$W/ours.$part" > "$W/$part.diff"; then
    echo "DYNAMIC $part: equal ($(wc -l < "$W/ref.$part") lines)"
  else
    echo "DYNAMIC $part: DIFFERENT (- keepalived 2.2.7, + ours)"; cat "$W/$part.diff"; rc=1
  fi
done
echo "--- keepalived 2.2.7 tables"; cat "$W/ref.tables"
[ $rc = 0 ] || { echo "--- our log"; grep -vE "Misc check|Activating" "$W/ours.log" | head -80; }
exit $rc
