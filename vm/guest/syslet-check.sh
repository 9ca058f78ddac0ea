# shellcheck shell=sh
# On a kernel built with CONFIG_AIO_SYSLET=y (guest_command's SYSLET 1):
# the sysctl must be there, or the guest exits 1 at once.  vm-check boots
# with aio_syslet=0 (SYSLET_BOOT_KOPT, vm/lib.sh): before anything writes
# the knob, it must read 0 (st=1 otherwise); every pass then sets its own
# mode.  Reads no host value.
# shellcheck disable=SC2034  # st: the guest's status, which its last line, exit $st, returns
if [ ! -e /proc/sys/fs/aio-syslet ]; then
	echo "# error: kernel $(uname -r) is built with CONFIG_AIO_SYSLET=y but has no /proc/sys/fs/aio-syslet: its syslet code is not there"
	exit 1
fi
case " $(cat /proc/cmdline) " in *' aio_syslet=0 '*)
	boot=$(cat /proc/sys/fs/aio-syslet)
	if [ "$boot" = 0 ]; then
		echo '# aio_syslet=0 on the command line: fs.aio-syslet reads 0 at boot'
	else
		echo "# error: booted with aio_syslet=0, fs.aio-syslet reads $boot"
		st=1
	fi ;;
esac
