# tools: plctl (create, destroy, stats, info, check, recover), linked with libpl.

ALL_TARGETS += $(B)/plctl

# PLMC_VERSION: tools/install.mk reads it from kmod/dkms.conf.
$(B)/plctl: tools/plctl.c $(B)/libpl.a $(wildcard include/*.h include/plmc/*.h) \
		kmod/dkms.conf
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_USER) -DPLMC_VERSION='"$(PLMC_VERSION)"' -o $@ $< \
		$(B)/libpl.a
