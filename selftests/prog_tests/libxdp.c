// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The XDP object must load through libxdp's dispatcher (freplace, which
 * needs BTF) and carry its run config. Attached in skb mode to a veth
 * interface that the test creates and removes.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "cases.h"
#include "xdp.skel.h"

/* freplace needs the program's BTF (func info): the loaded program must have it. */
SELFTEST(libxdp_btf)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	int err = bpf_obj_get_info_by_fd(fx_xdp_prog_fd(), &info, &len);

	CHECK(err == 0 && info.btf_id != 0 &&
		      info.nr_func_info > 0,
	      "greywall_xdp carries BTF and func info (btf_id %u)", info.btf_id);
}

SELFTEST(libxdp_dispatcher)
{
	struct xdp_program *prog = NULL;
	struct xdp_multiprog *mp = NULL;
	struct gw_xdp *skel;
	/* Named after the pid: a second run at once (another checkout) has its own. */
	char ifname[IFNAMSIZ], cmd[128];
	int ifindex, err;

	snprintf(ifname, sizeof(ifname), "gwst%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "ip link add %s type veth peer name %sp && ip link set %s up",
		 ifname, ifname, ifname);
	err = system(cmd);
	CHECK(err == 0, "create veth %s", ifname);
	ifindex = (int)if_nametoindex(ifname);
	if (err || !ifindex)
		return;
	skel = gw_xdp__open();
	CHECK(skel != NULL, "open gw_xdp");
	if (!skel)
		goto out;
	prog = xdp_program__from_bpf_obj(skel->obj, "xdp");
	err = libxdp_get_error(prog);
	CHECK(!err, "xdp_program__from_bpf_obj (%d)", err);
	if (err) {
		prog = NULL;
		goto out;
	}
	CHECK_INT(xdp_program__run_prio(prog), 10, "run priority from XDP_RUN_CONFIG");
	CHECK(xdp_program__chain_call_enabled(prog, XDP_PASS) &&
		      !xdp_program__chain_call_enabled(prog, XDP_DROP),
	      "chain call on XDP_PASS only");
	err = xdp_program__attach(prog, ifindex, XDP_MODE_SKB, 0);
	CHECK(!err, "attach through libxdp in skb mode (%d)", err);
	if (err)
		goto out;
	/*
	 * libxdp falls back to a single program when its dispatcher cannot load
	 * on this kernel: the dispatcher runs its programs as freplace
	 * (BPF_PROG_TYPE_EXT) extensions, which need the kernel's BPF
	 * trampolines (ftrace), and libxdp 1.3 also fails its freplace
	 * compatibility check on some kernels. That is the kernel's or
	 * libxdp's limit, not ours, and is reported as a TAP SKIP rather than
	 * hidden.
	 */
	mp = xdp_multiprog__get_from_ifindex(ifindex);
	err = libxdp_get_error(mp);
	CHECK(!err && mp, "libxdp sees the program on the interface (%d)", err);
	if (!err && mp) {
		struct xdp_program *p = xdp_multiprog__is_legacy(mp) ?
						xdp_multiprog__main_prog(mp) :
						xdp_multiprog__next_prog(NULL, mp);

		CHECK(p && !strcmp(xdp_program__name(p), "greywall_xdp"),
		      "greywall_xdp is the program libxdp runs");
		if (xdp_multiprog__is_legacy(mp) &&
		    libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_EXT, NULL) != 1)
			CHECK(1, "dispatcher mode # SKIP this kernel loads no freplace "
				 "programs (BPF_PROG_TYPE_EXT: built without ftrace), which "
				 "libxdp's dispatcher needs; it attached greywall_xdp alone");
		else if (xdp_multiprog__is_legacy(mp))
			CHECK(1, "dispatcher mode # SKIP libxdp could not load its dispatcher "
				 "on this kernel and fell back to a single program");
		else
			CHECK(1, "dispatcher mode: greywall_xdp runs under xdp-dispatcher");
		xdp_multiprog__close(mp);
	}
	err = xdp_program__detach(prog, ifindex, XDP_MODE_SKB, 0);
	CHECK(!err, "detach (%d)", err);
out:
	if (prog)
		xdp_program__close(prog);
	if (skel)
		gw_xdp__destroy(skel);
	snprintf(cmd, sizeof(cmd), "ip link del %s", ifname);
	(void)system(cmd);
}
