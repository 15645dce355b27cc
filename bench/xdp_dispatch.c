// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * The cost of running under libxdp's dispatcher, for bench/wire.sh: the
 * same frame through greywall as attached (the dispatcher program, whose
 * slot greywall's program replaces as a BPF_PROG_TYPE_EXT) and through a
 * direct copy of greywall's program, with BPF_PROG_TEST_RUN, interleaved.
 *
 * The copy is greywall_xdp loaded from the skeleton as a plain XDP program
 * with every one of its maps taken from the attached program (by id, so
 * it sees the same tables, rules and settings): the two differ only in
 * the dispatcher around it (its call into the slot, through the freplace
 * trampoline, and its check of the slot's return value).
 *
 * Usage: xdp_dispatch -D DISPATCHER_ID -E GREYWALL_EXT_ID -s SRC -d DST [-n repeat] [-r runs]
 * Output: "RESULT wire=dispatch dispatcher_ns=N direct_ns=N delta_ns=N ratio=R verdict=V".
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "greywall.h"
#include "wire_frame.h"
#include "xdp.skel.h"

#define MAX_RUNS 31
#define MAX_MAPS 64

static void die(const char *what, int err)
{
	fprintf(stderr, "xdp_dispatch: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

/* Give every map of the skeleton the attached program's map of the same name. */
static void reuse_maps(struct gw_xdp *skel, int ext_fd)
{
	uint32_t ids[MAX_MAPS], n = MAX_MAPS;
	struct bpf_prog_info info = { .nr_map_ids = n, .map_ids = (uint64_t)(unsigned long)ids };
	uint32_t len = sizeof(info);
	struct bpf_map *map;

	if (bpf_obj_get_info_by_fd(ext_fd, &info, &len))
		die("the attached program's info", errno);
	if (info.nr_map_ids > n)
		die("the attached program's maps", E2BIG);
	bpf_object__for_each_map(map, skel->obj) {
		const char *name = bpf_map__name(map);
		bool found = false;

		for (uint32_t i = 0; i < info.nr_map_ids && !found; i++) {
			struct bpf_map_info mi = {};
			uint32_t mlen = sizeof(mi);
			int fd = bpf_map_get_fd_by_id(ids[i]);

			if (fd < 0)
				die("bpf_map_get_fd_by_id", errno);
			if (!bpf_obj_get_info_by_fd(fd, &mi, &mlen) &&
			    (!strncmp(mi.name, name, sizeof(mi.name) - 1) ||
			     (name[0] == '.' && strstr(mi.name, name)))) {
				int err = bpf_map__reuse_fd(map, fd);

				if (err)
					die(name, err);
				found = true;
			}
			close(fd);
		}
		if (!found) {
			fprintf(stderr, "xdp_dispatch: the attached program has no map %s\n", name);
			exit(1);
		}
	}
}

/* Mean ns per run of frame through fd, over repeat; the verdict in *ret. */
static double run_once(int fd, uint8_t *frame, uint32_t repeat, uint32_t *ret)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = FRAME_LEN,
		    .repeat = repeat);
	double t0 = bench_now();

	if (bpf_prog_test_run_opts(fd, &opts))
		die("BPF_PROG_TEST_RUN", errno);
	*ret = opts.retval;
	return (bench_now() - t0) * 1e9 / repeat;
}

int main(int argc, char **argv)
{
	uint32_t disp_id = 0, ext_id = 0, repeat = 1000000, runs = 5, ret_d, ret_g;
	double disp[MAX_RUNS], direct[MAX_RUNS], dm, gm;
	const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	struct in_addr src = {}, dst = {};
	uint8_t frame[FRAME_LEN];
	struct gw_xdp *skel;
	int opt, disp_fd, ext_fd, direct_fd;

	while ((opt = getopt(argc, argv, "D:E:s:d:n:r:")) != -1) {
		switch (opt) {
		case 'D': disp_id = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'E': ext_id = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 's': inet_pton(AF_INET, optarg, &src); break;
		case 'd': inet_pton(AF_INET, optarg, &dst); break;
		case 'n': repeat = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'r': runs = (uint32_t)strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: %s -D DISPATCHER_ID -E GREYWALL_EXT_ID -s SRC -d DST "
					"[-n repeat] [-r runs]\n", argv[0]);
			return 2;
		}
	}
	if (!disp_id || !ext_id || !src.s_addr || !dst.s_addr || !repeat || !runs || runs > MAX_RUNS) {
		fprintf(stderr, "xdp_dispatch: -D, -E, -s and -d are needed (runs <= %d)\n", MAX_RUNS);
		return 2;
	}
	libbpf_set_print(libbpf_quiet);
	disp_fd = bpf_prog_get_fd_by_id(disp_id);
	ext_fd = bpf_prog_get_fd_by_id(ext_id);
	if (disp_fd < 0 || ext_fd < 0)
		die("the attached programs", errno);
	skel = gw_xdp__open();
	if (!skel)
		die("gw_xdp__open", errno);
	reuse_maps(skel, ext_fd);
	if (gw_xdp__load(skel))
		die("load the direct copy", errno);
	direct_fd = bpf_program__fd(skel->progs.greywall_xdp);
	build_syn(frame, mac, mac, src, dst, 25);

	for (uint32_t r = 0; r < runs; r++) {
		disp[r] = run_once(disp_fd, frame, repeat, &ret_d);
		direct[r] = run_once(direct_fd, frame, repeat, &ret_g);
	}
	qsort(disp, runs, sizeof(double), bench_cmp_double);
	qsort(direct, runs, sizeof(double), bench_cmp_double);
	dm = disp[runs / 2];
	gm = direct[runs / 2];
	printf("RESULT wire=dispatch dispatcher_ns=%.1f direct_ns=%.1f delta_ns=%.1f ratio=%.3f "
	       "verdict_dispatcher=%u verdict_direct=%u repeat=%u runs=%u\n",
	       dm, gm, dm - gm, gm > 0 ? dm / gm : 0, ret_d, ret_g, repeat, runs);
	gw_xdp__destroy(skel);
	return ret_d == ret_g ? 0 : 1;
}
