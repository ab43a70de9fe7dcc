
# Appended by the bundle to the Makefile.uk of app-helloworld for the Solo5 guest of Figure 10.
# Solo5 guest only: plat-solo5 (51213c68) builds the hvt binding and tender with
# `make -C <build>/libsolo5/origin/solo5-0.4.1 hvt`, whose first step runs Solo5's
# configure.sh when no Makeconf exists. Solo5 0.4.1's configure.sh accepts gcc 4 to 9 only
# (it greps '#define __GNUC__ [4-9]$' and dies with "Only 'gcc' 4.x+ is supported on
# Linux" on the toolchain's gcc 11/12; Solo5 fixed the check in 2020, PR #459). So the
# Makeconf is written first, by a copy of configure.sh whose check also accepts two-digit
# majors, in the extracted sources in the build directory: no upstream file changes. The
# path is plat-solo5's SOLO5_SUBDIR for its SOLO5_VERSION=0.4.1 (this file is read before
# plat-solo5's Makefile.uk, so that variable is not defined yet).
ifeq ($(CONFIG_PLAT_SOLO5),y)
APPHELLOWORLD_SOLO5_DIR := $(BUILD_DIR)/libsolo5/origin/solo5-0.4.1

$(APPHELLOWORLD_SOLO5_DIR)/Makeconf: $(BUILD_DIR)/libsolo5/.origin
	cd $(APPHELLOWORLD_SOLO5_DIR) && \
	sed -e 's/__GNUC__ \[4-9\]\$$/__GNUC__ ([4-9]|[1-9][0-9])$$/' configure.sh > configure-gcc10.sh && \
	sh configure-gcc10.sh

$(APPHELLOWORLD_SOLO5_DIR)/bindings/hvt/solo5_hvt.o: $(APPHELLOWORLD_SOLO5_DIR)/Makeconf
endif
