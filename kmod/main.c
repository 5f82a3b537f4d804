// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - /dev/plmc: the misc device, module parameters, load and unload.
 *
 * Any user may open the device (mode 0666): creating a segment is checked
 * in the ioctl (CAP_SYS_ADMIN or create_gid), attaching per segment (its
 * owner, group and mode). An open fd, and every mapping made through one,
 * pins the module (fops.owner), so unload finds no attachment: it only
 * frees the segments nobody is attached to and stops the clock.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <asm/cpufeature.h>
#include "plmc_kmod.h"

int plmc_create_gid = -1;
module_param_named(create_gid, plmc_create_gid, int, 0444);
MODULE_PARM_DESC(create_gid,
		 "group whose members may create segments (-1: none)");

static int plmc_open(struct inode *inode, struct file *file)
{
	struct plmc_file *pf;

	pf = kzalloc(sizeof(*pf), GFP_KERNEL);
	if (!pf)
		return -ENOMEM;
	mutex_init(&pf->lock);
	file->private_data = pf;
	return 0;
}

/*
 * Context: the last reference to the file dropped: every VMA made through
 * it is gone, and this may run in any process (never use current here).
 */
static int plmc_release(struct inode *inode, struct file *file)
{
	struct plmc_file *pf = file->private_data;

	if (pf->att)
		plmc_att_release_file(pf->att);
	mutex_destroy(&pf->lock);
	kfree(pf);
	return 0;
}

static const struct file_operations plmc_fops = {
	.owner = THIS_MODULE,
	.open = plmc_open,
	.release = plmc_release,
	.unlocked_ioctl = plmc_ioctl,
	.mmap = plmc_mmap,
	.llseek = noop_llseek,
};

bool plmc_is_plmc_file(const struct file *file)
{
	return file->f_op == &plmc_fops;
}

static struct miscdevice plmc_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = PLMC_DRV,
	.fops = &plmc_fops,
	.mode = 0666,
};

static int __init plmc_init(void)
{
	int rc;

	/*
	 * Without PKU (or with it turned off: nopku, -cpu ...,pku=off) there
	 * is nothing to hide the store with. Refuse to load, saying why, so
	 * libpl falls back to its none backend and says so too.
	 */
	if (!cpu_feature_enabled(X86_FEATURE_OSPKE)) {
		pr_err(PLMC_DRV ": this CPU has no PKU, or the kernel has it off: no device\n");
		return -ENODEV;
	}

	/* No guard, no device: the store must not exist unprotected. */
	rc = plmc_guard_init();
	if (rc)
		return rc;
	rc = plmc_tasks_init();
	if (rc)
		goto err_guard;
	rc = plmc_intro_init();
	if (rc)
		goto err_tasks;
	rc = misc_register(&plmc_misc);
	if (rc) {
		pr_err(PLMC_DRV ": misc_register failed: %d\n", rc);
		goto err_intro;
	}
	return 0;

err_intro:
	plmc_intro_exit();
err_tasks:
	plmc_tasks_exit();
err_guard:
	plmc_guard_exit();
	return rc;
}

static void __exit plmc_exit(void)
{
	misc_deregister(&plmc_misc);
	plmc_seg_exit();
	plmc_stop_exit();
	plmc_intro_exit();
	plmc_tasks_exit();
	plmc_guard_exit();
}

module_init(plmc_init);
module_exit(plmc_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("plmc: memcached as a protected library (segments, PKU)");
MODULE_VERSION("0.1.0");
