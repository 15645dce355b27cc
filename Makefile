# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#
# make            build greywalld, greywallctl, the BPF objects and the tests
# make check      install what is missing, build, run every test layer
# make demo       a gateway in network namespaces, attackers, a mail client
# make bench      benchmarks against the peers (results go to BENCHMARKS.md)
# make fuzz       the fuzz harnesses at length

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
OUT := .output
PREFIX ?= /usr/local

ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -Iuser -I$(OUT)
LDLIBS += -lxdp -lbpf -lelf -lz -lsqlite3
BPF_CFLAGS := -O2 -g -Wall -Werror -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
	-Iinclude -Ibpf -I/usr/include/$(MULTIARCH)

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
SELFTEST_SRCS := $(wildcard selftests/prog_tests/*.c)
SELFTEST_BIN := $(OUT)/selftests/test_progs
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(OUT)/tools/%,$(TOOL_SRCS))
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(OUT)/bench/%,$(BENCH_SRCS))

.PHONY: all deps check demo bench fuzz clean install format

all: $(BINS) $(UNIT_BINS) $(SELFTEST_BIN) $(TOOL_BINS) $(BENCH_BINS)

# Debian 12 packages the build, the tests and the demo need (systemd for
# systemd-analyze, strace and libcap2-bin's capsh: tests/integration/test_unit.sh).
DEPS := clang llvm libbpf-dev libxdp-dev libelf-dev zlib1g-dev libsqlite3-dev \
	bpftool xdp-tools iproute2 linux-libc-dev gcc-multilib make netbase libclang-rt-14-dev \
	postfix swaks libio-socket-inet6-perl systemd strace libcap2-bin
# The peers `make bench` measures against, and ethtool for its veths (not needed by `make check`).
BENCH_DEPS := ipset endlessh postgrey nftables iptables ethtool
deps:
	@./deploy/install-deps.sh $(DEPS)

$(OUT) $(OUT)/tests $(OUT)/selftests $(OUT)/tools $(OUT)/bench:
	@mkdir -p $@

$(OUT)/vmlinux.h: | $(OUT)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(OUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) include/greywall.h | $(OUT)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name gw_$(subst -,_,$*) > $@

$(OUT)/user/%.o: user/%.c $(wildcard user/*/*.h) include/greywall.h $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(AR) rcs $@ $^

greywalld: $(OUT)/user/greywalld.o $(LIB)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# greywallctl takes from the library only the control socket and the
# command table: none of the daemon's libraries (check with ldd).
greywallctl: $(OUT)/user/greywallctl.o $(LIB)
	$(CC) $(CFLAGS) $^ -o $@

$(OUT)/tests/%: tests/unit/%.c $(LIB) $(wildcard tests/lib/*.h) | $(OUT)/tests
	$(CC) $(CFLAGS) -Itests/lib $< $(LIB) $(LDLIBS) -o $@

$(SELFTEST_BIN): $(SELFTEST_SRCS) $(wildcard selftests/*.c selftests/*.h) $(SKELS) $(LIB) | $(OUT)/selftests
	$(CC) $(CFLAGS) -Itests/lib -Iselftests $(wildcard selftests/*.c) $(SELFTEST_SRCS) $(LIB) $(LDLIBS) -o $@

$(OUT)/tools/%: tests/tools/%.c $(LIB) | $(OUT)/tools
	$(CC) $(CFLAGS) $< $(LIB) $(LDLIBS) -lpthread -o $@

$(OUT)/bench/%: bench/%.c $(wildcard bench/*.h) $(LIB) $(SKELS) | $(OUT)/bench
	$(CC) $(CFLAGS) $< $(LIB) $(LDLIBS) -lpthread -o $@

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

install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib/greywall
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/sbin/
	install -m 0644 $(BPF_OBJS) $(DESTDIR)$(PREFIX)/lib/greywall/

format:
	clang-format -i include/*.h bpf/*.c bpf/*.h user/*.c user/*/*.c user/*/*.h

clean:
	rm -rf $(OUT) $(BINS)
