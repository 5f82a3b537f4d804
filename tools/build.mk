# tools: plctl (create, destroy, stats, info, check, recover), linked with libpl.

ALL_TARGETS += $(B)/plctl

$(B)/plctl: tools/plctl.c $(B)/libpl.a $(wildcard include/*.h include/plmc/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_USER) -o $@ $< $(B)/libpl.a
