#!/usr/bin/env bash
# A cluster started by hand, as docs/cluster.md says: `troupe head` (which writes a fresh token
# to its token file), two `troupe node`s joining it, and `troupe run --address` driving it; then
# bad usage is refused by name, and stopping the head (SIGTERM) ends the nodes and their workers.
# Usage: cluster_by_hand.sh TROUPE_BINARY
set -euo pipefail
troupe=$1
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$work"/*.log; do echo "--- $f"; cat "$f"; done; exit 1; }

"$troupe" head --port 0 --token-file "$work/token" --cpus 2 >"$work/head.log" 2>&1 &
pids+=($!)
head_pid=$!
for _ in $(seq 200); do grep -q "listening on" "$work/head.log" && break; sleep 0.05; done
grep -q "wrote a new cluster token to $work/token" "$work/head.log" || fail "the head did not write its token"
[ "$(stat -c %a "$work/token")" = 600 ] || fail "the token file is not private (mode $(stat -c %a "$work/token"))"
address=$(sed -n 's/^troupe head: listening on \([0-9.]*:[0-9]*\) .*/\1/p' "$work/head.log")
[ -n "$address" ] || fail "no address in the head's log"
case "$address" in 127.0.0.1:*) ;; *) fail "the head listens on $address, not loopback";; esac

for n in 1 2; do
  "$troupe" node --head "$address" --token-file "$work/token" --cpus 8 --name "node$n" >"$work/node$n.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do grep -q "as node $n" "$work/node$n.log" && break; sleep 0.05; done
  grep -q "joined the cluster at $address as node $n" "$work/node$n.log" || fail "node$n did not join as node $n"
done

out=$("$troupe" run counter database named_actors --seeds 1..3 --platform cluster --address "$address" \
        --token-file "$work/token" 2>&1) || fail "the run failed: $out"
grep -q "all 3 scenarios passed" <<<"$out" || fail "unexpected run output: $out"
grep -q "driver p[0-9]* connected" "$work/head.log" || fail "the head did not log its drivers"

# A wrong token is refused by the head, and the driver says so.
echo "a-token-that-this-cluster-does-not-know" >"$work/wrong"
if out=$("$troupe" run counter --seeds 1 --platform cluster --address "$address" --token-file "$work/wrong" 2>&1); then
  fail "a wrong token was accepted: $out"
fi
grep -q "it refused this client (a wrong token?)" <<<"$out" || fail "unexpected refusal output: $out"
for _ in $(seq 100); do grep -q "does not know the cluster token" "$work/head.log" && break; sleep 0.05; done
grep -q "refused 127.0.0.1:[0-9]*: authentication failed: driver 'pid [0-9]*' does not know the cluster token" \
  "$work/head.log" || fail "the head did not log the refusal"

# Bad usage names what is wrong and exits 2.
expect_usage() {
  local expected=$1; shift
  set +e; out=$("$troupe" "$@" 2>&1); status=$?; set -e
  [ "$status" = 2 ] || fail "'$*' exited $status, not 2: $out"
  grep -qF -e "$expected" <<<"$out" || fail "'$*' said: $out"
}
expect_usage "node needs --head HOST:PORT" node --token-file "$work/token"
expect_usage "--head: address 'nowhere' is not HOST:PORT" node --head nowhere --token-file "$work/token"
expect_usage "--chaos-kills need --platform cluster" run counter --seeds 1 --chaos-kills
expect_usage "--chaos-kills needs a local cluster" run counter --seeds 1 --platform cluster --address "$address" --token-file "$work/token" --chaos-kills
expect_usage "--port: '70000' is not a whole number from 0 to 65535" head --port 70000 --token-file "$work/token"

# Stopping the head ends everyone: the nodes see its link close and stop, with their workers.
kill -TERM "$head_pid"
for _ in $(seq 200); do
  alive=0
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break
  sleep 0.05
done
[ $alive = 0 ] || fail "processes still running after the head stopped"
grep -q "the head's link closed" "$work/node1.log" || fail "node1 did not say why it stopped"
echo "cluster by hand: ok"
