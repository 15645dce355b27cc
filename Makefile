# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# make            build greywalld, greywallctl, the BPF objects and the tests
# make check      install what is missing, build, run every test layer
# make demo       a gateway in network namespaces, attackers, a mail client
# make bench      benchmarks against the peers (results go to BENCHMARKS.md)
# make fuzz       the fuzz harnesses at length
# make install    binaries, BPF objects, man pages, systemd unit, tmpfiles
#                 and sysusers files under $(DESTDIR)$(PREFIX) (make uninstall)
# make deb        the Debian package .output/deb/greywall_VERSION_ARCH.deb
# make build-deps install the Debian packages make, make install and make deb
#                 need (make deps: also what the tests and the demo need)
# make V=1        print the whole commands, not one short line each

# The one place the version is kept: greywalld, greywallctl status and the
# Debian package take it from the file VERSION.
VERSION := $(shell cat VERSION)
CC ?= gcc
CLANG ?= clang
# Debian puts bpftool in /usr/sbin, which a user's PATH may lack.
BPFTOOL ?= $(or $(shell command -v bpftool 2>/dev/null),/usr/sbin/bpftool)
OUT := .output
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
# systemd reads units, tmpfiles.d and sysusers.d under /usr/local/lib too.
UNITDIR ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d

# A half-written target (a compiler killed, a full disk) is never taken for a built one.
.DELETE_ON_ERROR:

# Quiet by default, one line per target ("  CC      .output/user/lib/addr.o");
# V=1 prints the commands themselves.
ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-7s %s\n' '$(1)' '$(2)';
endif

ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
# Without a compiler (make stops at the dependency check then) Debian's name for it.
MULTIARCH := $(or $(shell $(CC) -print-multiarch 2>/dev/null),$(shell uname -m)-linux-gnu)

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -Iuser -I$(OUT) \
	-DGREYWALL_VERSION='"$(VERSION)"'
# Each object (and each test program, built from one source) records the
# headers it includes in a .d file beside it: touching a header rebuilds
# only what includes it. -MP keeps the build going when a header goes away.
DEPFLAGS := -MMD -MP
# The log watchers match lines with PCRE2 and read journald through sd-journal;
# spamd sync signs its datagrams with libcrypto's HMAC-SHA1.
LDLIBS += -lxdp -lbpf -lelf -lz -lsqlite3 -lpcre2-8 -lsystemd -lcrypto -lcurl -ljson-c -lloc
BPF_CFLAGS := -O2 -g -Wall -Werror -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
	-Iinclude -Ibpf -I/usr/include/$(MULTIARCH) $(DEPFLAGS)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))

USER_MAINS := user/greywalld.c user/greywallctl.c
LIB_SRCS := $(wildcard user/*/*.c)
LIB_OBJS := $(patsubst user/%.c,$(OUT)/user/%.o,$(LIB_SRCS))
LIB := $(OUT)/libgreywall.a
BINS := greywalld greywallctl

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRCS))
SELFTEST_SRCS := $(wildcard selftests/*.c selftests/prog_tests/*.c)
SELFTEST_OBJS := $(patsubst selftests/%.c,$(OUT)/selftests/%.o,$(SELFTEST_SRCS))
SELFTEST_BIN := $(OUT)/selftests/test_progs
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(OUT)/tools/%,$(TOOL_SRCS))
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(OUT)/bench/%,$(BENCH_SRCS))
DEPFILES := $(patsubst %,%.d,$(BPF_OBJS:.o=) $(LIB_OBJS:.o=) $(OUT)/user/greywalld \
	$(OUT)/user/greywallctl $(SELFTEST_OBJS:.o=) $(UNIT_BINS) $(TOOL_BINS) $(BENCH_BINS))

.PHONY: all deps build-deps check-deps check demo bench fuzz clean install uninstall format deb

# The BPF objects and skeletons are named here so that make keeps them (an
# intermediate file would be removed): the objects' .d files name the
# skeletons, and make install copies the BPF objects (for bpftool; the
# skeletons embed them, greywalld reads none at run time).
all: $(BPF_OBJS) $(SKELS) $(BINS) $(UNIT_BINS) $(SELFTEST_BIN) $(TOOL_BINS) $(BENCH_BINS)

# What the build takes from each Debian 12 package it needs, as PACKAGE:WHAT,
# WHAT a command or a file: deploy/check-deps.sh looks for them before
# anything is built (a few stat calls, no apt, no dpkg) and names the
# packages missing. A library the build starts to use goes here, with a
# header of its -dev package; netbase's /etc/services gives greywalld (and
# its tests) the port names of greywall.conf. DEPS_ROOT=DIR looks for the files under DIR
# (tests/integration/test_check_deps.sh).
BUILD_NEEDS := gcc:$(CC) clang:$(CLANG) bpftool:$(BPFTOOL) \
	libc6-dev:/usr/include/stdio.h linux-libc-dev:/usr/include/linux/bpf.h \
	libbpf-dev:/usr/include/bpf/bpf_core_read.h libxdp-dev:/usr/include/xdp/libxdp.h \
	libelf-dev:/usr/include/libelf.h zlib1g-dev:/usr/include/zlib.h \
	libsqlite3-dev:/usr/include/sqlite3.h libpcre2-dev:/usr/include/pcre2.h \
	libsystemd-dev:/usr/include/systemd/sd-journal.h libssl-dev:/usr/include/openssl/hmac.h \
	libcurl4-openssl-dev:/usr/include/$(MULTIARCH)/curl/curl.h \
	libjson-c-dev:/usr/include/json-c/json.h netbase:/etc/services
# libloc reads `set location-db` (user/lib/location.c).
BUILD_NEEDS += libloc-dev:/usr/include/libloc/database.h
# clang -target bpf includes the 32-bit glibc stubs on x86 (the BPF target is not __x86_64__).
ifeq ($(ARCH),x86)
BUILD_NEEDS += gcc-multilib:/usr/include/$(MULTIARCH)/gnu/stubs-32.h
endif
# make deb: debhelper, dpkg-dev's dpkg-buildpackage and dpkg-shlibdeps, and
# build-essential, which dpkg-buildpackage requires of every build.
DEB_NEEDS := debhelper:dh dpkg-dev:dpkg-buildpackage \
	build-essential:/usr/share/build-essential/essential-packages-list
# npm fetches the report's charting library once (UPLOT below): checked
# only then, as the build needs neither npm nor the network while .output/npm
# holds its package. make deps and make build-deps install Debian's npm only
# where no npm is found: a NodeSource nodejs has its own, and conflicts with it.
REPORT_NEEDS := npm:npm
NPM_DEPS := $(if $(shell command -v npm 2>/dev/null),,npm)
deps_of = $(foreach need,$(1),$(firstword $(subst :, ,$(need))))
BUILD_DEPS := make $(call deps_of,$(BUILD_NEEDS))
DEB_DEPS := $(call deps_of,$(DEB_NEEDS))
# Debian 12 packages the build, the tests and the demo need (systemd for
# systemd-analyze, strace and libcap2-bin's capsh: tests/integration/test_unit.sh;
# lintian for tests/integration/test_deb.sh).
DEPS := $(BUILD_DEPS) $(DEB_DEPS) llvm xdp-tools iproute2 netbase libclang-rt-14-dev \
	postfix swaks libio-socket-inet6-perl systemd strace libcap2-bin lintian
# The log watchers' tests run Dovecot, sshd and Python clients, and
# systemd-journal-remote writes their journals.
DEPS += systemd-journal-remote dovecot-core dovecot-pop3d dovecot-imapd openssh-server \
	openssh-client python3
# CrowdSec itself for the tests and bench/crowdsec.sh: its LAPI (crowdsec, cscli) run
# privately, and the firewall bouncer as the peer that enforces the same decisions.
DEPS += crowdsec crowdsec-firewall-bouncer
# The metrics endpoint's test: promtool checks the exposition, Prometheus scrapes it.
DEPS += prometheus
# The report's test loads report.html in Debian's Chromium, headless.
DEPS += chromium
# Countries and networks in the dumps: Debian's location database for the tests.
DEPS += libloc-database
# The peers `make bench` measures against, and ethtool for its veths (not needed by `make check`);
# fail2ban follows files with pyinotify when it is installed (Debian's default backend, auto).
BENCH_DEPS := ipset endlessh postgrey nftables iptables ethtool fail2ban python3-pyinotify
deps:
	@./deploy/install-deps.sh $(DEPS) $(NPM_DEPS)

# What make, make install and make deb need.
build-deps:
	@./deploy/install-deps.sh $(BUILD_DEPS) $(DEB_DEPS) $(NPM_DEPS)

# Every build goes through $(OUT) (order-only), and so through this check
# first: without a dependency, make stops here with one message naming the
# packages, not later inside clang.
check-deps:
	@DEPS_ROOT='$(DEPS_ROOT)' ./deploy/check-deps.sh $(BUILD_NEEDS)

$(OUT): | check-deps
	@mkdir -p $@

$(OUT)/tests $(OUT)/selftests $(OUT)/tools $(OUT)/bench: | $(OUT)
	@mkdir -p $@

$(OUT)/vmlinux.h: | $(OUT)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(OUT)/%.bpf.o: bpf/%.bpf.c | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name gw_$(subst -,_,$*) > $@

# The skeletons come first (order-only): an object's .d file names the ones
# it includes, so a changed BPF program rebuilds exactly those. A changed
# Makefile (flags, rules) rebuilds every object: one an older Makefile made
# has no .d file to say which headers it was built from.
$(OUT)/user/%.o: user/%.c Makefile | $(SKELS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# report.html's charting library (user/report/assets.h): uPlot from the npm
# registry, pinned by version and by the SHA-512 of its package, which npm's
# own integrity field ("sha512-KIMVnG68...") gives in base64. npm pack runs
# only when the package is not in .output/npm already (and reads npm's
# cache first); a package that does not match is deleted, and the build stops.
UPLOT_VERSION := 1.6.32
UPLOT_SHA512 := 2883159c6ebccefbb95d751b0b82d010f9e1c0ec41b8bc96d401eda66e882935c89a46cb824332fa369b8cb8122cc6ac36e186cd09bf7a9ded3a4c93c6989023
# make deb hands its package to the build in its copy of the tree (which has
# no .output) as UPLOT_TGZ, so that the package build needs no network.
UPLOT_TGZ ?= $(OUT)/npm/uplot-$(UPLOT_VERSION).tgz
REPORT_ASSETS := page:user/report/page.html \
	library_js:$(OUT)/uplot/package/dist/uPlot.iife.min.js \
	library_css:$(OUT)/uplot/package/dist/uPlot.min.css \
	library_license:$(OUT)/uplot/package/LICENSE

$(UPLOT_TGZ): | $(OUT)
	$(call msg,NPM,$@)
	@DEPS_ROOT='$(DEPS_ROOT)' ./deploy/check-deps.sh $(REPORT_NEEDS)
	$(Q)mkdir -p $(@D)
	$(Q)cd $(@D) && npm pack --silent --prefer-offline uplot@$(UPLOT_VERSION) >/dev/null
	$(Q)echo '$(UPLOT_SHA512)  $@' | sha512sum --check --quiet - || \
		{ echo '$@: not the SHA-512 this Makefile pins' >&2; rm -f $@; exit 1; }

$(OUT)/report_assets.h: $(UPLOT_TGZ) user/report/page.html Makefile
	$(call msg,GEN,$@)
	$(Q)echo '$(UPLOT_SHA512)  $<' | sha512sum --check --quiet -
	$(Q)rm -rf $(OUT)/uplot && mkdir -p $(OUT)/uplot
	$(Q)tar -xzf $< -C $(OUT)/uplot package/dist/uPlot.iife.min.js package/dist/uPlot.min.css \
		package/LICENSE
	$(Q)for asset in $(REPORT_ASSETS); do \
		echo "const unsigned char report_$${asset%%:*}[] = {"; \
		od -An -v -tx1 $${asset#*:} | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g' || exit 1; \
		echo "};"; \
	done > $@

$(OUT)/user/report/assets.o: $(OUT)/report_assets.h

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

greywalld: $(OUT)/user/greywalld.o $(LIB)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# greywallctl takes from the library only the control socket and the
# command table: none of the daemon's libraries (check with ldd).
greywallctl: $(OUT)/user/greywallctl.o $(LIB)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@

$(OUT)/tests/%: tests/unit/%.c $(LIB) Makefile | $(OUT)/tests $(SKELS)
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(DEPFLAGS) -Itests/lib $< $(LIB) $(LDLIBS) -o $@

$(OUT)/selftests/%.o: selftests/%.c Makefile | $(SKELS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -Itests/lib -Iselftests -c $< -o $@

$(SELFTEST_BIN): $(SELFTEST_OBJS) $(LIB)
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/tools/%: tests/tools/%.c $(LIB) Makefile | $(OUT)/tools $(SKELS)
	$(call msg,TOOL,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(DEPFLAGS) $< $(LIB) $(LDLIBS) -lpthread -o $@

$(OUT)/bench/%: bench/%.c $(LIB) Makefile | $(OUT)/bench $(SKELS)
	$(call msg,BENCH,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(DEPFLAGS) $< $(LIB) $(LDLIBS) -lpthread -o $@

-include $(DEPFILES)

check: deps
	@$(MAKE) --no-print-directory all
	@./tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@./deploy/demo.sh

bench: deps
	@./deploy/install-deps.sh $(BENCH_DEPS)
	@$(MAKE) --no-print-directory all
	@./bench/run.sh

fuzz: deps
	@$(MAKE) --no-print-directory all
	@./tests/fuzz/run.sh long

MAN_PAGES := $(wildcard man/*.[0-9])

install: $(BINS) $(BPF_OBJS)
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(PREFIX)/lib/greywall $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(SYSUSERSDIR)
	$(Q)install -m 0755 $(BINS) $(DESTDIR)$(SBINDIR)/
	$(Q)install -m 0644 $(BPF_OBJS) $(DESTDIR)$(PREFIX)/lib/greywall/
	$(Q)for page in $(MAN_PAGES); do \
		dir=$(DESTDIR)$(MANDIR)/man$${page##*.}; \
		install -d $$dir && install -m 0644 $$page $$dir/ || exit 1; \
	done
	@# The installed unit names the binaries where this install puts them;
	@# deploy/greywalld.service (written for /usr/local) stays the one source.
	$(Q)sed 's|/usr/local/sbin/|$(SBINDIR)/|g' deploy/greywalld.service \
		>$(DESTDIR)$(UNITDIR)/greywalld.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/greywalld.service
	$(Q)install -m 0644 deploy/greywall.tmpfiles $(DESTDIR)$(TMPFILESDIR)/greywall.conf
	$(Q)install -m 0644 deploy/greywall.sysusers $(DESTDIR)$(SYSUSERSDIR)/greywall.conf

# Removes what install put there; the state (/var/lib/greywall) stays.
uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(BINS)) \
		$(addprefix $(DESTDIR)$(PREFIX)/lib/greywall/,$(notdir $(BPF_OBJS))) \
		$(foreach page,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(page)))/$(notdir $(page))) \
		$(DESTDIR)$(UNITDIR)/greywalld.service $(DESTDIR)$(TMPFILESDIR)/greywall.conf \
		$(DESTDIR)$(SYSUSERSDIR)/greywall.conf
	$(Q)rmdir $(DESTDIR)$(PREFIX)/lib/greywall 2>/dev/null || true

# The package's Build-Depends are BUILD_DEPS but for what build-essential has.
deb: $(UPLOT_TGZ)
	@DEPS_ROOT='$(DEPS_ROOT)' ./deploy/check-deps.sh $(BUILD_NEEDS) $(DEB_NEEDS)
	@UPLOT_TGZ='$(abspath $(UPLOT_TGZ))' ./deploy/build-deb.sh $(filter-out make gcc libc6-dev,$(BUILD_DEPS))

format:
	clang-format -i include/*.h bpf/*.c bpf/*.h user/*.c user/*/*.c user/*/*.h

clean:
	rm -rf $(OUT) $(BINS)
