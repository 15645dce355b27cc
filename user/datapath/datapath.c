// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <xdp/libxdp.h>
#include <zlib.h>

#include "datapath/datapath.h"
#include "datapath/ruleindex.h"
#include "sk_lookup.skel.h"
#include "datapath/stats.h"
#include "datapath/sweeper.h"
#include "tc_egress.skel.h"
#include "xdp.skel.h"

#define XDP_PROG_NAME "greywall_xdp"

/* The maps every object declares, pinned by name under the bpf-dir. */
static const struct {
	const char *name;
	size_t offset;		/* of the fd in struct datapath */
} pinned_maps[] = {
#define PINNED(map, field) { GW_MAP_NAME(map), offsetof(struct datapath, field) }
	PINNED(GW_MAP_HOSTS, hosts),		PINNED(GW_MAP_PREFIX4, prefix4),
	PINNED(GW_MAP_PREFIX6, prefix6),	PINNED(GW_MAP_RULES, rules),
	PINNED(GW_MAP_RULE_STATS, rule_stats),	PINNED(GW_MAP_STATS, stats),
	PINNED(GW_MAP_CONFIG, config),		PINNED(GW_MAP_INDEX4, index4),
	PINNED(GW_MAP_CLASSES, classes),	PINNED(GW_MAP_INDEX6, index6),
	PINNED(GW_MAP_RULE_INDEX, rule_index),	PINNED(GW_MAP_RULE_PORTS, rule_ports),
	PINNED(GW_MAP_RULE_IFACES, rule_ifaces), PINNED(GW_MAP_TARPIT, tarpit),
	PINNED(GW_MAP_OUTBOUND, outbound),	PINNED(GW_MAP_FLOWS, flows),
	PINNED(GW_MAP_SRC_TRACK, src_track),	PINNED(GW_MAP_EVENTS, events),
	PINNED(GW_MAP_FLOW_CONF, flow_conf),	PINNED(GW_MAP_FLOW_PORTS, flow_ports),
	PINNED(GW_MAP_SRC_HALFOPEN, src_halfopen), PINNED(GW_MAP_COUNTERS, counters),
	PINNED(GW_MAP_COUNTERS_SPILL, counters_spill), PINNED(GW_MAP_NETS4, nets4),
	PINNED(GW_MAP_NETS6, nets6),		PINNED(GW_MAP_INDEX6_SLOTS, index6_slots),
#undef PINNED
};

#define NPINNED (sizeof(pinned_maps) / sizeof(pinned_maps[0]))

static int *map_fd(struct datapath *dp, size_t i)
{
	return (int *)((char *)dp + pinned_maps[i].offset);
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int datapath_pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	return snprintf(buf, len, "%s/%s", dir, name) >= (int)len ? -ENAMETOOLONG : 0;
}

/*
 * The name map is pinned under, NULL for maps of one object alone (its
 * other global data): the flow conf is a global variable whose section's
 * map every object shares.
 */
static const char *pin_name(const struct bpf_map *map)
{
	if (!bpf_map__is_internal(map))
		return bpf_map__name(map);
	if (!strcmp(bpf_map__name(map), GW_FLOW_CONF_SECTION))
		return GW_MAP_NAME(GW_MAP_FLOW_CONF);
	return NULL;
}

/* Whether map is gw_counters, whose size greywalld chooses. */
static bool is_counter_array(const struct bpf_map *map)
{
	return !strcmp(bpf_map__name(map), GW_MAP_NAME(GW_MAP_COUNTERS));
}

/*
 * Point every shared map of obj at its pin so all objects share them. A
 * pinned gw_counters keeps its size: obj's takes it.
 */
static int set_pin_paths(struct bpf_object *obj, const char *dir)
{
	struct bpf_map *map;
	char path[PATH_MAX];
	int err;

	bpf_object__for_each_map(map, obj)
	{
		if (!pin_name(map))
			continue;
		err = datapath_pin_path(path, sizeof(path), dir, pin_name(map));
		if (!err)
			err = bpf_map__set_pin_path(map, path);
		if (!err && is_counter_array(map)) {
			struct bpf_map_info info = { 0 };
			uint32_t info_len = sizeof(info);
			int fd = bpf_obj_get(path);

			if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &info_len) &&
			    info.type == bpf_map__type(map))
				err = bpf_map__set_max_entries(map, info.max_entries);
			if (fd >= 0)
				close(fd);
		}
		if (err)
			return err;
	}
	return 0;
}

/*
 * The maps of flow tracking hold each other's numbers: flows sit where the
 * conf's seed and hash put them, and the source counts count flows. When
 * one of them is made anew, so are the others (a count no flow will ever
 * give back would hold a source at its limit).
 */
static const char *const flow_state_maps[] = { GW_MAP_NAME(GW_MAP_FLOWS),
					       GW_MAP_NAME(GW_MAP_SRC_TRACK),
					       GW_MAP_NAME(GW_MAP_SRC_HALFOPEN),
					       GW_MAP_NAME(GW_MAP_FLOW_CONF) };

/* Whether the pinned map fd cannot serve as map: 1, 0 or -errno. */
static int pin_stale(int fd, const struct bpf_map *map)
{
	struct bpf_map_info info = { 0 };
	uint32_t info_len = sizeof(info), zero = 0;
	struct gw_flow_conf conf;

	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return -errno;
	if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
	    info.value_size != bpf_map__value_size(map) ||
	    (info.max_entries != bpf_map__max_entries(map) && !is_counter_array(map)) ||
	    info.map_flags != bpf_map__map_flags(map))
		return 1;
	if (strcmp(pin_name(map), GW_MAP_NAME(GW_MAP_FLOW_CONF)))
		return 0;
	/* Flows placed by another hash (a seed drawn: some may have been). */
	if (bpf_map_lookup_elem(fd, &zero, &conf))
		return -errno;
	return conf.mask && conf.version != GW_FLOW_HASH_VERSION;
}

/* Unlink the pin at path, and note its name in names (len bytes, space-separated). */
static int drop_pin(const char *path, const char *name, char *names, size_t len)
{
	size_t used = strlen(names);

	if (unlink(path) && errno != ENOENT)
		return -errno;
	snprintf(names + used, len - used, "%s%s", used ? " " : "", name);
	return 0;
}

/*
 * Remove the pins of obj's maps that an older build left with another
 * layout (type, key, value, size or flags), or flows placed by another
 * hash: the new object cannot use them, and loading it creates those maps
 * anew. greywalld refills what it keeps elsewhere (tables from the store
 * and their files, rules, config); tracked connections and counters start
 * over. Their names go to names (len bytes, space-separated). 0 or -errno.
 */
static int drop_stale_pins(struct bpf_object *obj, const char *dir, char *names, size_t len)
{
	bool flow_state = false;
	struct bpf_map *map;
	char path[PATH_MAX];
	int err;

	names[0] = '\0';
	bpf_object__for_each_map(map, obj)
	{
		int fd, stale;

		if (!pin_name(map) || datapath_pin_path(path, sizeof(path), dir, pin_name(map)))
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		stale = pin_stale(fd, map);
		close(fd);
		if (stale < 0)
			return stale;
		if (!stale)
			continue;
		err = drop_pin(path, pin_name(map), names, len);
		if (err)
			return err;
		for (size_t i = 0; i < sizeof(flow_state_maps) / sizeof(flow_state_maps[0]); i++)
			flow_state |= !strcmp(pin_name(map), flow_state_maps[i]);
	}
	for (size_t i = 0; flow_state && i < sizeof(flow_state_maps) / sizeof(flow_state_maps[0]);
	     i++) {
		if (datapath_pin_path(path, sizeof(path), dir, flow_state_maps[i]) ||
		    access(path, F_OK))
			continue;
		err = drop_pin(path, flow_state_maps[i], names, len);
		if (err)
			return err;
	}
	return 0;
}

int datapath_open_pinned(struct datapath *dp, const char *bpf_dir)
{
	char path[PATH_MAX];

	memset(dp, 0, sizeof(*dp));
	snprintf(dp->bpf_dir, sizeof(dp->bpf_dir), "%s", bpf_dir);
	for (size_t i = 0; i < NPINNED; i++)
		*map_fd(dp, i) = -1;
	for (size_t i = 0; i < NPINNED; i++) {
		int err = datapath_pin_path(path, sizeof(path), bpf_dir, pinned_maps[i].name);

		if (!err) {
			*map_fd(dp, i) = bpf_obj_get(path);
			err = *map_fd(dp, i) < 0 ? -errno : 0;
		}
		if (err) {
			datapath_close(dp);
			return err;
		}
	}
	return 0;
}

void datapath_close(struct datapath *dp)
{
	for (size_t i = 0; i < NPINNED; i++)
		if (*map_fd(dp, i) > 0)
			close(*map_fd(dp, i));
	if (dp->xdp_prog)
		xdp_program__close(dp->xdp_prog);
	if (dp->xdp)
		gw_xdp__destroy(dp->xdp);
	if (dp->tc)
		gw_tc_egress__destroy(dp->tc);
	memset(dp, 0, sizeof(*dp));
	for (size_t i = 0; i < NPINNED; i++)
		*map_fd(dp, i) = -1;
}

/* A checksum of every program's ELF image: which build is attached. */
static uint64_t build_id(void)
{
	const void *(*const images[])(size_t *) = { gw_xdp__elf_bytes, gw_tc_egress__elf_bytes,
						    gw_sk_lookup__elf_bytes };
	uLong a = crc32(0L, Z_NULL, 0), b = adler32(0L, Z_NULL, 0);

	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
		size_t size;
		const void *elf = images[i](&size);

		a = crc32(a, elf, (uInt)size);
		b = adler32(b, elf, (uInt)size);
	}
	return ((uint64_t)a << 32) | (uint32_t)b;
}

static int check_bpffs(const char *dir, char *err, size_t errlen)
{
	struct statfs st;

	if (statfs(dir, &st)) {
		snprintf(err, errlen, "bpf-dir \"%s\": %s", dir, strerror(errno));
		return -errno;
	}
	if (st.f_type != BPF_FS_MAGIC) {
		snprintf(err, errlen, "bpf-dir \"%s\" is not on a bpf filesystem", dir);
		return -EINVAL;
	}
	return 0;
}

int datapath_link_status(const char *ifname, struct datapath_link *out)
{
	struct xdp_multiprog *mp;
	struct xdp_program *prog = NULL;
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = DATAPATH_TC_HANDLE,
		    .priority = DATAPATH_TC_PRIORITY);
	long err;

	memset(out, 0, sizeof(*out));
	snprintf(out->ifname, sizeof(out->ifname), "%s", ifname);
	out->ifindex = (int)if_nametoindex(ifname);
	if (!out->ifindex)
		return -ENODEV;
	mp = xdp_multiprog__get_from_ifindex(out->ifindex);
	err = libxdp_get_error(mp);
	if (!err && mp) {
		if (xdp_multiprog__is_legacy(mp)) {
			prog = xdp_multiprog__main_prog(mp);
			if (prog && strcmp(xdp_program__name(prog), XDP_PROG_NAME))
				prog = NULL;
		} else {
			while ((prog = xdp_multiprog__next_prog(prog, mp)))
				if (!strcmp(xdp_program__name(prog), XDP_PROG_NAME))
					break;
		}
		if (prog) {
			out->xdp_attached = true;
			out->xdp_dispatcher = !xdp_multiprog__is_legacy(mp);
			out->xdp_prog_id = xdp_program__id(prog);
			switch (xdp_multiprog__attach_mode(mp)) {
			case XDP_MODE_NATIVE:
				out->xdp_mode = "native";
				break;
			case XDP_MODE_SKB:
				out->xdp_mode = "generic";
				break;
			case XDP_MODE_HW:
				out->xdp_mode = "offload";
				break;
			default:
				out->xdp_mode = "unknown";
			}
		}
		xdp_multiprog__close(mp);
	}
	hook.ifindex = out->ifindex;
	out->tc_attached = bpf_tc_query(&hook, &opts) == 0;
	return 0;
}

/* Detach every greywall XDP program on ifindex except keep_id. */
static int detach_xdp_except(int ifindex, uint32_t keep_id)
{
	int first_err = 0;

	for (;;) {
		struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
		struct xdp_program *prog = NULL, *victim = NULL;
		enum xdp_attach_mode mode;
		int err;

		if (libxdp_get_error(mp) || !mp)
			return first_err;
		mode = xdp_multiprog__attach_mode(mp);
		if (xdp_multiprog__is_legacy(mp)) {
			prog = xdp_multiprog__main_prog(mp);
			if (prog && !strcmp(xdp_program__name(prog), XDP_PROG_NAME) &&
			    xdp_program__id(prog) != keep_id)
				victim = prog;
		} else {
			while ((prog = xdp_multiprog__next_prog(prog, mp)))
				if (!strcmp(xdp_program__name(prog), XDP_PROG_NAME) &&
				    xdp_program__id(prog) != keep_id) {
					victim = prog;
					break;
				}
		}
		if (!victim) {
			xdp_multiprog__close(mp);
			return first_err;
		}
		err = xdp_program__detach(victim, ifindex, mode, 0);
		xdp_multiprog__close(mp);
		if (err) {
			if (!first_err)
				first_err = err;
			return first_err;
		}
	}
}

/*
 * Without libxdp's dispatcher (the kernel or bpffs cannot run it) our
 * program is the interface's only one, and libxdp will not put a second
 * one beside it: load the new build here and swap it in atomically.
 * Another program's place is never taken. *id gets the new program's id.
 */
static int replace_single_xdp(struct gw_xdp *skel, int ifindex, uint32_t *id)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	struct bpf_prog_info info = { 0 };
	__u32 flags = XDP_FLAGS_REPLACE, len = sizeof(info);
	struct xdp_program *old;
	int fd, ret = -EBUSY;

	if (libxdp_get_error(mp) || !mp)
		return ret;
	old = xdp_multiprog__is_legacy(mp) ? xdp_multiprog__main_prog(mp) : NULL;
	if (old && !strcmp(xdp_program__name(old), XDP_PROG_NAME))
		ret = gw_xdp__load(skel);
	if (!ret) {
		fd = bpf_program__fd(skel->progs.greywall_xdp);
		flags |= xdp_multiprog__attach_mode(mp) == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE
									: XDP_FLAGS_DRV_MODE;
		opts.old_prog_fd = xdp_program__fd(old);
		ret = bpf_xdp_attach(ifindex, fd, flags, &opts);
		if (!ret)
			ret = bpf_obj_get_info_by_fd(fd, &info, &len);
		*id = info.id;
	}
	xdp_multiprog__close(mp);
	return ret;
}

static int attach_xdp(struct datapath *dp, const char *ifname, int ifindex, char *err,
		      size_t errlen)
{
	struct gw_xdp *skel = gw_xdp__open();
	struct xdp_program *prog;
	uint32_t id = 0;
	long ret;

	if (!skel) {
		snprintf(err, errlen, "cannot open the XDP object: %s", strerror(errno));
		return -errno;
	}
	ret = set_pin_paths(skel->obj, dp->bpf_dir);
	if (ret) {
		gw_xdp__destroy(skel);
		snprintf(err, errlen, "XDP map pins: %s", strerror((int)-ret));
		return (int)ret;
	}
	prog = xdp_program__from_bpf_obj(skel->obj, "xdp");
	ret = libxdp_get_error(prog);
	if (ret) {
		gw_xdp__destroy(skel);
		snprintf(err, errlen, "libxdp cannot use the XDP object: %s", strerror((int)-ret));
		return (int)ret;
	}
	/* Native where the driver has it, generic otherwise. */
	ret = xdp_program__attach(prog, ifindex, XDP_MODE_NATIVE, 0);
	if (ret)
		ret = xdp_program__attach(prog, ifindex, XDP_MODE_SKB, 0);
	if (!ret)
		id = xdp_program__id(prog);
	else if (ret == -EBUSY)
		ret = replace_single_xdp(skel, ifindex, &id);
	if (ret) {
		xdp_program__close(prog);
		gw_xdp__destroy(skel);
		snprintf(err, errlen, "attach XDP to %s: %s", ifname, strerror((int)-ret));
		return (int)ret;
	}
	/* The new program runs; now the old build can go without a gap. */
	ret = detach_xdp_except(ifindex, id);
	xdp_program__close(prog);
	gw_xdp__destroy(skel);
	if (ret) {
		snprintf(err, errlen, "detach the previous XDP program from %s: %s", ifname,
			 strerror((int)-ret));
		return (int)ret;
	}
	return 0;
}

static int attach_tc(struct datapath *dp, const char *ifname, int ifindex, char *err,
		     size_t errlen)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = DATAPATH_TC_HANDLE,
		    .priority = DATAPATH_TC_PRIORITY, .flags = BPF_TC_F_REPLACE);
	int ret;

	opts.prog_fd = bpf_program__fd(dp->tc->progs.greywall_tc_egress);
	ret = bpf_tc_hook_create(&hook);
	if (ret && ret != -EEXIST) {
		snprintf(err, errlen, "clsact on %s: %s", ifname, strerror(-ret));
		return ret;
	}
	/* Replacing the filter in place is atomic: egress counting goes on. */
	ret = bpf_tc_attach(&hook, &opts);
	if (ret)
		snprintf(err, errlen, "attach TC egress to %s: %s", ifname, strerror(-ret));
	return ret;
}

/* Attach the loaded sk_lookup program to our namespace and pin the link at path. */
static int attach_sk_lookup_new(struct gw_sk_lookup *skel, const char *path)
{
	struct bpf_link *link;
	int netns, ret;

	netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (netns < 0)
		return -errno;
	link = bpf_program__attach_netns(skel->progs.greywall_sk_lookup, netns);
	ret = link ? 0 : -errno;
	close(netns);
	if (ret)
		return ret;
	/* The pin keeps the program attached after the link's fd is closed. */
	ret = bpf_link__pin(link, path);
	if (ret)
		bpf_link__detach(link);
	bpf_link__destroy(link);
	return ret;
}

/*
 * The sk_lookup program runs on the whole network namespace, not on an
 * interface: one link, pinned so it outlives greywalld. A pinned link of
 * another build gets the new program in place (no lookup goes unsteered);
 * a link whose namespace is gone is replaced.
 */
static int attach_sk_lookup(struct datapath *dp, bool replace, char *err, size_t errlen)
{
	struct gw_sk_lookup *skel;
	char path[PATH_MAX];
	int link, ret;

	ret = datapath_pin_path(path, sizeof(path), dp->bpf_dir, DATAPATH_SK_LOOKUP_LINK);
	if (ret) {
		snprintf(err, errlen, "sk_lookup link pin: %s", strerror(-ret));
		return ret;
	}
	link = bpf_obj_get(path);
	if (link >= 0 && !replace) {
		close(link);
		return 0;
	}
	skel = gw_sk_lookup__open();
	ret = skel ? set_pin_paths(skel->obj, dp->bpf_dir) : -errno;
	if (!ret)
		ret = gw_sk_lookup__load(skel);
	if (ret) {
		snprintf(err, errlen, "load the sk_lookup object (maps in %s): %s", dp->bpf_dir,
			 strerror(-ret));
		goto out;
	}
	if (link >= 0) {
		ret = bpf_link_update(link, bpf_program__fd(skel->progs.greywall_sk_lookup), NULL);
		if (ret == -ENOLINK && !unlink(path))
			ret = attach_sk_lookup_new(skel, path);
	} else {
		ret = attach_sk_lookup_new(skel, path);
	}
	if (ret)
		snprintf(err, errlen, "attach sk_lookup to the network namespace: %s",
			 strerror(-ret));
out:
	if (link >= 0)
		close(link);
	gw_sk_lookup__destroy(skel);
	return ret;
}

/*
 * XDP and TC on every configured interface and sk_lookup in our namespace:
 * attached where missing, replaced everywhere when dp->replace; then the
 * build is recorded as the attached one.
 */
static int attach_programs(struct datapath *dp, const struct config *cfg, char *err,
			   size_t errlen)
{
	uint64_t build = build_id();
	uint32_t key = GW_CFG_BUILD_ID;
	int ret;

	for (size_t i = 0; i < cfg->ninterfaces; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
		struct datapath_link link;

		/* clsact first: querying a missing qdisc only makes noise. */
		hook.ifindex = (int)if_nametoindex(cfg->interfaces[i]);
		if (hook.ifindex)
			bpf_tc_hook_create(&hook);
		ret = datapath_link_status(cfg->interfaces[i], &link);
		if (ret) {
			snprintf(err, errlen, "interface %s: %s", cfg->interfaces[i],
				 strerror(-ret));
			return ret;
		}
		if (!link.xdp_attached || dp->replace) {
			ret = attach_xdp(dp, link.ifname, link.ifindex, err, errlen);
			if (ret)
				return ret;
		}
		if (!link.tc_attached || dp->replace) {
			ret = attach_tc(dp, link.ifname, link.ifindex, err, errlen);
			if (ret)
				return ret;
		}
	}
	ret = attach_sk_lookup(dp, dp->replace, err, errlen);
	if (ret)
		return ret;
	bpf_map_update_elem(dp->config, &key, &build, BPF_ANY);
	return 0;
}

int datapath_attach(struct datapath *dp, const struct config *cfg, char *err, size_t errlen)
{
	uint32_t key = GW_CFG_BUILD_ID;
	uint64_t attached_build = 0, want_build = build_id();
	char stale[sizeof(dp->stale_maps)];
	int ret;

	ret = mkdir_p(cfg->bpf_dir);
	if (ret) {
		snprintf(err, errlen, "bpf-dir \"%s\": %s", cfg->bpf_dir, strerror(-ret));
		return ret;
	}
	ret = check_bpffs(cfg->bpf_dir, err, errlen);
	if (ret)
		return ret;
	/* Loading the TC object creates the maps, or reuses the pinned ones. */
	dp->tc = gw_tc_egress__open();
	if (!dp->tc) {
		snprintf(err, errlen, "cannot open the TC object: %s", strerror(errno));
		return -errno;
	}
	snprintf(dp->bpf_dir, sizeof(dp->bpf_dir), "%s", cfg->bpf_dir);
	ret = drop_stale_pins(dp->tc->obj, cfg->bpf_dir, stale, sizeof(stale));
	if (!ret)
		ret = set_pin_paths(dp->tc->obj, cfg->bpf_dir);
	if (!ret)
		ret = gw_tc_egress__load(dp->tc);
	if (ret) {
		snprintf(err, errlen, "load the TC object (maps in %s): %s", cfg->bpf_dir,
			 strerror(-ret));
		return ret;
	}
	{
		struct gw_tc_egress *tc = dp->tc;

		dp->tc = NULL;
		ret = datapath_open_pinned(dp, cfg->bpf_dir);
		dp->tc = tc;
		snprintf(dp->stale_maps, sizeof(dp->stale_maps), "%s", stale);
		if (ret) {
			snprintf(err, errlen, "open pinned maps in %s: %s", cfg->bpf_dir,
				 strerror(-ret));
			return ret;
		}
	}
	/* Before any program runs: flows placed before the seed was set would be lost. */
	ret = sweeper_flow_conf_init(dp->flow_conf, dp->flows);
	if (ret) {
		snprintf(err, errlen, "flow table seed: %s", strerror(-ret));
		return ret;
	}
	bpf_map_lookup_elem(dp->config, &key, &attached_build);
	/* Programs on maps made anew hold the old ones: they go too. */
	dp->replace = attached_build != want_build || dp->stale_maps[0];
	/*
	 * ...but only once the maps made anew are filled: until then the old
	 * programs go on enforcing from the old maps.
	 */
	if (dp->stale_maps[0]) {
		dp->attach_deferred = true;
		return 0;
	}
	return attach_programs(dp, cfg, err, errlen);
}

int datapath_attach_deferred(struct datapath *dp, const struct config *cfg, char *err,
			     size_t errlen)
{
	if (!dp->attach_deferred)
		return 0;
	dp->attach_deferred = false;
	return attach_programs(dp, cfg, err, errlen);
}

/* Cut the sk_lookup link, even if something else still holds it open. */
static int detach_sk_lookup(const char *bpf_dir)
{
	char path[PATH_MAX];
	int link, ret;

	ret = datapath_pin_path(path, sizeof(path), bpf_dir, DATAPATH_SK_LOOKUP_LINK);
	if (ret)
		return ret;
	link = bpf_obj_get(path);
	if (link < 0)
		return errno == ENOENT ? 0 : -errno;
	ret = bpf_link_detach(link) ? -errno : 0;
	close(link);
	return ret;
}

int datapath_detach(const struct config *cfg, char *err, size_t errlen)
{
	int first_err = 0, ret;
	DIR *dir;

	for (size_t i = 0; i < cfg->ninterfaces; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = DATAPATH_TC_HANDLE,
			    .priority = DATAPATH_TC_PRIORITY);
		int ifindex = (int)if_nametoindex(cfg->interfaces[i]);

		if (!ifindex)
			continue;
		ret = detach_xdp_except(ifindex, 0);
		if (ret && !first_err) {
			snprintf(err, errlen, "detach XDP from %s: %s", cfg->interfaces[i],
				 strerror(-ret));
			first_err = ret;
		}
		hook.ifindex = ifindex;
		ret = bpf_tc_detach(&hook, &opts);
		if (ret && ret != -ENOENT && !first_err) {
			snprintf(err, errlen, "detach TC from %s: %s", cfg->interfaces[i],
				 strerror(-ret));
			first_err = ret;
		}
	}
	ret = detach_sk_lookup(cfg->bpf_dir);
	if (ret && !first_err) {
		snprintf(err, errlen, "detach sk_lookup: %s", strerror(-ret));
		first_err = ret;
	}
	dir = opendir(cfg->bpf_dir);
	if (dir) {
		struct dirent *de;

		while ((de = readdir(dir))) {
			char path[PATH_MAX];

			if (de->d_name[0] == '.')
				continue;
			if (!datapath_pin_path(path, sizeof(path), cfg->bpf_dir, de->d_name))
				unlink(path);
		}
		closedir(dir);
		if (rmdir(cfg->bpf_dir) && !first_err) {
			snprintf(err, errlen, "remove %s: %s", cfg->bpf_dir, strerror(errno));
			first_err = -errno;
		}
	}
	return first_err;
}

int datapath_set_config(const struct datapath *dp, enum gw_config_key key, uint64_t value)
{
	uint32_t k = key;

	return bpf_map_update_elem(dp->config, &k, &value, BPF_ANY) ? -errno : 0;
}

int datapath_set_rules(struct datapath *dp, const struct config *cfg)
{
	struct ruleindex_maps maps = { dp->rule_index, dp->rule_ports, dp->rule_ifaces,
				       dp->config, dp->flow_ports };
	struct gw_rule rules[GW_MAX_RULES];
	uint64_t counter_tables = 0;
	int err;

	if (cfg->nrules > GW_MAX_RULES)
		return -E2BIG;
	for (size_t i = 0; i < cfg->ntables; i++)
		if (cfg->tables[i].flags & CONFIG_TABLE_COUNTERS)
			counter_tables |= 1ULL << i;
	for (uint32_t i = 0; i < cfg->nrules; i++) {
		rules[i] = cfg->rules[i].rule;
		if (cfg->rules[i].ifname[0]) {
			rules[i].ifindex = if_nametoindex(cfg->rules[i].ifname);
			if (!rules[i].ifindex)
				return -ENODEV;
		}
	}
	/* The data path decides from the index; gw_rules is what `greywallctl rules` reads. */
	err = ruleindex_publish(&maps, rules, cfg->nrules);
	if (err)
		return err;
	for (uint32_t i = 0; i < cfg->nrules; i++)
		if (bpf_map_update_elem(dp->rules, &i, &rules[i], BPF_ANY))
			return -errno;
	err = datapath_set_config(dp, GW_CFG_COUNTER_TABLES, counter_tables);
	if (!err)
		err = datapath_set_config(dp, GW_CFG_NRULES, cfg->nrules);
	return err;
}

const char *datapath_stat_name(enum gw_stat stat)
{
	static const char *const names[GW_STAT_MAX] = {
		[GW_STAT_PACKETS] = "packets",	    [GW_STAT_PASS] = "passed",
		[GW_STAT_DROP] = "dropped",	    [GW_STAT_NON_IP] = "non-ip",
		[GW_STAT_UNPARSED] = "unparsed",    [GW_STAT_IPV6_EXT] = "ipv6-extension-headers",
		[GW_STAT_FRAGMENT] = "fragments",   [GW_STAT_HOST_HIT] = "host-hits",
		[GW_STAT_PREFIX_HIT] = "prefix-hits", [GW_STAT_OUT_PACKETS] = "out-packets",
		[GW_STAT_STEER_TARPIT] = "smtp-to-tarpit", [GW_STAT_STEER_PASS] = "smtp-to-mta-passed",
		[GW_STAT_STEER_NO_TARPIT] = "smtp-to-mta-no-tarpit",
		[GW_STAT_STEER_LOCAL] = "smtp-to-mta-local",
		[GW_STAT_OUTBOUND_SMTP] = "outbound-smtp-syns",
		[GW_STAT_FLOWS_FULL] = "flows-full",
		[GW_STAT_SRC_TRACK_FULL] = "src-track-full",
		[GW_STAT_HANDSHAKES] = "handshakes",
		[GW_STAT_BAD_ACK] = "bad-handshake-acks",
		[GW_STAT_OVERLOAD_DROPS] = "overload-drops",
		[GW_STAT_FLOW_KILLED_DROPS] = "killed-flow-drops",
		[GW_STAT_RETURN_RST] = "returned-rst",
		[GW_STAT_RETURN_ICMP] = "returned-icmp",
		[GW_STAT_EVENTS_LOST] = "events-lost",
		[GW_STAT_FLOWS_EVICTED] = "flows-evicted",
		[GW_STAT_FLOWS_FULL_DROPS] = "flows-full-drops",
		[GW_STAT_SRC_STATES_DROPS] = "src-states-drops",
		[GW_STAT_TINY_FRAGMENT] = "tiny-fragment-drops",
		[GW_STAT_FRAGMENT_OFFSET1] = "fragment-offset1-drops",
		[GW_STAT_IPV6_CHAIN] = "ipv6-chain-drops",
		[GW_STAT_SHORT_HEADER] = "short-header-drops",
		[GW_STAT_FLOWS_CREATED] = "flows-created",
	};

	return (unsigned int)stat < GW_STAT_MAX && names[stat] ? names[stat] : "?";
}

uint64_t datapath_stat(const struct datapath *dp, enum gw_stat stat)
{
	struct gw_stats sum;

	if ((unsigned int)stat >= GW_STAT_MAX || stats_read(dp->stats, &sum))
		return 0;
	return sum.v[stat];
}

/* The per-CPU counters of rule index, summed. */
int datapath_rule_counters(const struct datapath *dp, uint32_t index, struct gw_rule_stats *out)
{
	int ncpus = libbpf_num_possible_cpus();
	struct gw_rule_stats *values;

	memset(out, 0, sizeof(*out));
	if (ncpus <= 0)
		return -EINVAL;
	values = calloc((size_t)ncpus, sizeof(*values));
	if (!values)
		return -ENOMEM;
	if (bpf_map_lookup_elem(dp->rule_stats, &index, values)) {
		free(values);
		return -errno;
	}
	for (int i = 0; i < ncpus; i++) {
		out->evaluations += values[i].evaluations;
		out->matches += values[i].matches;
		out->packets += values[i].packets;
		out->bytes += values[i].bytes;
		out->overloads += values[i].overloads;
	}
	free(values);
	return 0;
}

int datapath_rule_stats(const struct datapath *dp, uint32_t index, struct gw_rule_stats *out)
{
	struct gw_rule_stats first;
	int err;

	/*
	 * The data path counts evaluated packets on rule 0 only: a rule is
	 * evaluated for every such packet that no earlier quick rule took.
	 */
	err = datapath_rule_counters(dp, 0, &first);
	if (!err)
		err = datapath_rule_counters(dp, index, out);
	if (err)
		return err;
	out->evaluations = first.evaluations;
	for (uint32_t j = 0; j < index; j++) {
		struct gw_rule_stats s;
		struct gw_rule rule;

		if (bpf_map_lookup_elem(dp->rules, &j, &rule))
			return -errno;
		if (!(rule.flags & GW_RULE_QUICK))
			continue;
		err = datapath_rule_counters(dp, j, &s);
		if (err)
			return err;
		out->evaluations -= s.matches < out->evaluations ? s.matches : out->evaluations;
	}
	return 0;
}
