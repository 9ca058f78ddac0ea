// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * An external module for make e2e: built in the installed root against
 * linux-headers-*-syslet*-*, as DKMS would, then loaded in the booted VM.
 */
#include <linux/init.h>
#include <linux/module.h>

static int __init hello_init(void)
{
	pr_info("hello: built against the linux-syslet headers package\n");
	return 0;
}

static void __exit hello_exit(void)
{
}

module_init(hello_init);
module_exit(hello_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("linux-syslet e2e: an external module from the headers package");
