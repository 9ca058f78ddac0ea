# shellcheck shell=sh
# The identity part: review findings C1 and C5 under load, in mode 1: the
# leader hands off again and again while two threads create and join
# threads and a third keeps numbered signals queued for the leader
# (syslet-signal-race's third sub-test) for IDENTITY_STRESS_SECONDS.  Its
# output is quoted as "# identity stress:" lines, its status last.
# Reads RUNNER and IDENTITY_STRESS_SECONDS (vm/lib.sh); sets st=1 on a
# failure.
# shellcheck disable=SC2034  # st: the guest's status, which its last line, exit $st, returns
[ ! -e /proc/sys/fs/aio-syslet ] || echo 1 > /proc/sys/fs/aio-syslet
echo "# identity stress: $IDENTITY_STRESS_SECONDS s"
is=0
AIO_SYSLET_STRESS_SECONDS=$IDENTITY_STRESS_SECONDS "$RUNNER" --tap --require-syslet --timeout $((IDENTITY_STRESS_SECONDS + 300)) syslet-signal-race > /tmp/identity.log 2>&1 || { is=$?; st=1; }
sed 's/^/# identity stress: /' /tmp/identity.log
echo "# identity stress: status $is"
