# shellcheck shell=sh
# Before the suite and the stress part: syslet-null-blk and
# syslet-destroy-inflight read /dev/nullb0, and the stress runs use it.
# Where null_blk is a module, its parameters come from the kernel command
# line (NULL_BLK_KOPT, vm/lib.sh).  Reads no host value; sets st=1 when
# there is no /dev/nullb0.
# shellcheck disable=SC2034  # st: the guest's status, which its last line, exit $st, returns
[ -b /dev/nullb0 ] || modprobe null_blk || { echo '# error: no /dev/nullb0: modprobe null_blk failed'; st=1; }
