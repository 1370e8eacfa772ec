/* @module The N-API addon: load the eBPF skeleton, attach it, and hand raw records to JS.
 *
 * Deliberately thin: no parsing here. poll() copies whole records into a caller-owned Buffer as
 * [u32 length][record] with each entry 8-aligned; src/agent/ebpf/decode-events.ts reads them.
 * Plain node_api.h (node-addon-api is not a dependency).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include <node_api.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "events.h"
#include "weft.skel.h"
#include "weft_compat.skel.h"

/* Interfaces one agent may capture packets on (tc ingress and egress each). */
#define MAX_TC_INTERFACES 32
#define MAX_TLS_BINARIES 64
/* Weft's tc filter identity ("WF", priority 0xf7): one Weft filter per interface and direction. */
#define WEFT_TC_HANDLE 0x5746
#define WEFT_TC_PRIORITY 0xf7

/* The loaded programs: one of two skeletons of the same source (weft.bpf.c), which read kernel
 * structures with direct loads (Linux 6.2+) or with CO-RE helper reads. Both have the same maps
 * and globals, so the rest of the addon goes through these pointers. */
typedef struct {
	struct weft_bpf *direct;
	struct weft_compat_bpf *compat;
	struct bpf_map *events, *counters, *pid_deny, *pid_allow, *ports;
	struct bpf_program *tc_ingress, *tc_egress;
	/* TLS uprobes, attached per binary by attachTls: enter/exit of SSL_write, SSL_read,
	 * SSL_write_ex, SSL_read_ex. */
	struct bpf_program *tls[8];
	struct weft_bpf__rodata *rodata;
	struct weft_bpf__data *data;
	struct weft_bpf__bss *bss;
} progs_t;

typedef struct {
	progs_t progs;
	int loaded; /* progs holds a loaded skeleton */
	struct ring_buffer *rb;
	uint8_t *out;      /* current poll target */
	size_t out_cap;
	size_t out_len;
	uint8_t *pending;  /* one record that did not fit the previous poll buffer */
	size_t pending_len;
	int attached;
	int compat; /* the CO-RE variant is loaded */
	/* tc filters this handle attached (NET capture), to detach on close. */
	struct tc_link {
		int ifindex;
		enum bpf_tc_attach_point point;
		__u32 handle, priority;
		int created_hook; /* the clsact qdisc was ours: remove it too */
		int ns_fd;        /* the interface's network namespace when not ours, else -1 */
		__u64 ns_ino;     /* its inode (0: ours), the namespace's identity for detachInterface */
	} tc[2 * MAX_TC_INTERFACES];
	int ntc;
	/* TLS uprobe links (attachTls), 8 per binary. */
	struct bpf_link *uprobes[8 * MAX_TLS_BINARIES];
	int nuprobes;
} handle_t;

#define THROW(env, msg)                                         \
	do {                                                    \
		napi_throw_error(env, "TRC_EBPF_NATIVE", msg);  \
		return NULL;                                    \
	} while (0)

#define CHECK(env, call)                                                   \
	do {                                                               \
		if ((call) != napi_ok)                                     \
			THROW(env, "N-API call failed: " #call);           \
	} while (0)

static size_t entry_size(size_t len) { return (4 + len + 7) & ~(size_t)7; }

static int on_record(void *ctx, void *data, size_t len)
{
	handle_t *h = ctx;
	size_t need = entry_size(len);
	if (h->out_len + need > h->out_cap) {
		/* libbpf has already consumed this record: keep it for the next poll. */
		free(h->pending);
		h->pending = malloc(len);
		if (h->pending) {
			memcpy(h->pending, data, len);
			h->pending_len = len;
		}
		return -ENOSPC;
	}
	uint32_t l = (uint32_t)len;
	memcpy(h->out + h->out_len, &l, 4);
	memcpy(h->out + h->out_len + 4, data, len);
	h->out_len += need;
	return 0;
}

static void progs_destroy(progs_t *p)
{
	if (p->direct)
		weft_bpf__destroy(p->direct);
	if (p->compat)
		weft_compat_bpf__destroy(p->compat);
	memset(p, 0, sizeof(*p));
}

/* Points `p` at a skeleton's maps, programs and globals: both skeletons come from one source, so
 * their members have the same names and their globals the same layout. */
#define PROGS_BIND(p, skel)                                              \
	do {                                                             \
		(p)->events = (skel)->maps.events;                       \
		(p)->counters = (skel)->maps.counters;                   \
		(p)->pid_deny = (skel)->maps.pid_deny;                   \
		(p)->pid_allow = (skel)->maps.pid_allow;                 \
		(p)->ports = (skel)->maps.ports;                         \
		(p)->tc_ingress = (skel)->progs.tc_ingress;              \
		(p)->tc_egress = (skel)->progs.tc_egress;                \
		(p)->tls[0] = (skel)->progs.ssl_write_enter;             \
		(p)->tls[1] = (skel)->progs.ssl_write_exit;              \
		(p)->tls[2] = (skel)->progs.ssl_read_enter;              \
		(p)->tls[3] = (skel)->progs.ssl_read_exit;               \
		(p)->tls[4] = (skel)->progs.ssl_write_ex_enter;          \
		(p)->tls[5] = (skel)->progs.ssl_write_ex_exit;           \
		(p)->tls[6] = (skel)->progs.ssl_read_ex_enter;           \
		(p)->tls[7] = (skel)->progs.ssl_read_ex_exit;            \
		(p)->rodata = (struct weft_bpf__rodata *)(skel)->rodata; \
		(p)->data = (struct weft_bpf__data *)(skel)->data;       \
		(p)->bss = (struct weft_bpf__bss *)(skel)->bss;          \
	} while (0)

/* Opens one variant and points `p` at it. */
static int progs_open(progs_t *p, int compat)
{
	memset(p, 0, sizeof(*p));
	if (compat) {
		p->compat = weft_compat_bpf__open();
		if (!p->compat)
			return -1;
		PROGS_BIND(p, p->compat);
	} else {
		p->direct = weft_bpf__open();
		if (!p->direct)
			return -1;
		PROGS_BIND(p, p->direct);
	}
	return 0;
}

static int progs_load(progs_t *p)
{
	return p->direct ? weft_bpf__load(p->direct) : weft_compat_bpf__load(p->compat);
}

static int progs_attach(progs_t *p)
{
	return p->direct ? weft_bpf__attach(p->direct) : weft_compat_bpf__attach(p->compat);
}

/* tc filters are made over netlink, in the calling thread's network namespace: an interface of
 * another namespace is reached by switching this thread there and back (only the net namespace
 * of this one thread changes; setns(CLONE_NEWNET) is allowed in a threaded process). */
static int netns_enter(int ns_fd, int *saved)
{
	*saved = -1;
	if (ns_fd < 0)
		return 0;
	*saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*saved < 0)
		return -errno;
	if (setns(ns_fd, CLONE_NEWNET) != 0) {
		int err = -errno;
		close(*saved);
		*saved = -1;
		return err;
	}
	return 0;
}

static void netns_leave(int saved)
{
	if (saved < 0)
		return;
	/* Going back cannot fail for a namespace we came from and still hold open. */
	if (setns(saved, CLONE_NEWNET) != 0)
		fprintf(stderr, "weft: could not return to the agent's network namespace (%d)\n", errno);
	close(saved);
}

static void tc_detach_link(struct tc_link *l)
{
	int saved;
	if (netns_enter(l->ns_fd, &saved) == 0) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = l->ifindex, .attach_point = l->point);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = l->handle, .priority = l->priority);
		/* An interface that went away took its filters with it: -ENODEV here is fine. */
		bpf_tc_detach(&hook, &opts);
		/* The clsact qdisc is not destroyed here: destroying it would take any filter another
		 * tool added to it since. The JS side (capture/tc-leftovers.ts) removes the qdisc Weft
		 * created, and only once no filter is left on it. */
		netns_leave(saved);
	}
	if (l->ns_fd >= 0)
		close(l->ns_fd);
	l->ns_fd = -1;
}

static void tc_detach_all(handle_t *h)
{
	for (int i = h->ntc - 1; i >= 0; i--)
		tc_detach_link(&h->tc[i]);
	h->ntc = 0;
}

static void handle_free(handle_t *h)
{
	if (!h)
		return;
	tc_detach_all(h);
	for (int i = 0; i < h->nuprobes; i++)
		bpf_link__destroy(h->uprobes[i]);
	h->nuprobes = 0;
	if (h->rb)
		ring_buffer__free(h->rb);
	progs_destroy(&h->progs);
	h->loaded = 0;
	free(h->pending);
	h->rb = NULL;
	h->pending = NULL;
}

static void finalize(napi_env env, void *data, void *hint)
{
	(void)env;
	(void)hint;
	handle_free(data);
	free(data);
}

static handle_t *get_handle(napi_env env, napi_value v)
{
	void *p = NULL;
	if (napi_get_value_external(env, v, &p) != napi_ok || !p) {
		napi_throw_type_error(env, "TRC_EBPF_NATIVE", "expected an eBPF handle");
		return NULL;
	}
	handle_t *h = p;
	if (!h->loaded) {
		napi_throw_error(env, "TRC_EBPF_NATIVE", "eBPF handle is closed");
		return NULL;
	}
	return h;
}

static int get_u32_prop(napi_env env, napi_value obj, const char *name, uint32_t *out)
{
	bool has = false;
	napi_value v;
	if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has)
		return 0;
	if (napi_get_named_property(env, obj, name, &v) != napi_ok)
		return 0;
	napi_valuetype t;
	napi_typeof(env, v, &t);
	if (t != napi_number)
		return 0;
	return napi_get_value_uint32(env, v, out) == napi_ok;
}

/* Replace a hash map's keys with the numbers of a JS array (u32 or u16 keys). */
static int fill_set(napi_env env, napi_value obj, const char *name, int map_fd, int key16)
{
	bool has = false;
	napi_value arr;
	if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has)
		return -1;
	napi_get_named_property(env, obj, name, &arr);
	bool is_array = false;
	napi_is_array(env, arr, &is_array);
	if (!is_array)
		return -1;
	/* Clear: walk keys and delete. */
	uint32_t key = 0, next = 0;
	uint16_t k16 = 0, n16 = 0;
	if (key16) {
		while (bpf_map_get_next_key(map_fd, NULL, &n16) == 0)
			bpf_map_delete_elem(map_fd, &n16);
	} else {
		while (bpf_map_get_next_key(map_fd, NULL, &next) == 0)
			bpf_map_delete_elem(map_fd, &next);
	}
	(void)key;
	(void)k16;
	uint32_t n = 0;
	napi_get_array_length(env, arr, &n);
	uint8_t one = 1;
	for (uint32_t i = 0; i < n; i++) {
		napi_value e;
		uint32_t v = 0;
		napi_get_element(env, arr, i, &e);
		if (napi_get_value_uint32(env, e, &v) != napi_ok)
			continue;
		if (key16) {
			uint16_t k = (uint16_t)v;
			bpf_map_update_elem(map_fd, &k, &one, BPF_ANY);
		} else {
			bpf_map_update_elem(map_fd, &v, &one, BPF_ANY);
		}
	}
	return (int)n;
}

static void ensure_tracefs(void)
{
	/* Tracepoint attach looks ids up in tracefs; some hosts boot without it mounted. */
	struct stat st;
	if (stat("/sys/kernel/tracing/events", &st) == 0 || stat("/sys/kernel/debug/tracing/events", &st) == 0)
		return;
	mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL);
}

static char last_libbpf_error[512];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_WARN) {
		char line[512];
		vsnprintf(line, sizeof(line), fmt, args);
		/* Keep the last warning: it is the most useful part of a failed load. */
		snprintf(last_libbpf_error, sizeof(last_libbpf_error), "%s", line);
	}
	return 0;
}

/* open(config) -> handle. config: { payloadBytes?, http2PayloadBytes?, ringBytes?, idSeed?,
 * coreReads? (1: the CO-RE variant) } */
static napi_value js_open(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	uint32_t payload = WEFT_DEFAULT_PAYLOAD, h2 = WEFT_DEFAULT_HTTP2_PAYLOAD, ring = 8u << 20, seed = 0, compat = 0;
	if (argc >= 1) {
		get_u32_prop(env, argv[0], "payloadBytes", &payload);
		get_u32_prop(env, argv[0], "http2PayloadBytes", &h2);
		get_u32_prop(env, argv[0], "ringBytes", &ring);
		get_u32_prop(env, argv[0], "idSeed", &seed);
		get_u32_prop(env, argv[0], "coreReads", &compat);
	}
	if (payload > WEFT_MAX_PAYLOAD)
		THROW(env, "payloadBytes is above WEFT_MAX_PAYLOAD (4096)");
	if (h2 > WEFT_MAX_DATA_PAYLOAD)
		THROW(env, "http2PayloadBytes is above WEFT_MAX_DATA_PAYLOAD (16384)");
	/* HTTP/2 connections are never copied with less than the others. */
	if (h2 < payload)
		h2 = payload;
	if (ring < 4096 || (ring & (ring - 1)))
		THROW(env, "ringBytes must be a power of two >= 4096");

	libbpf_set_print(libbpf_print);
	last_libbpf_error[0] = 0;
	ensure_tracefs();
	handle_t *h = calloc(1, sizeof(*h));
	if (!h)
		THROW(env, "out of memory");
	/* Direct loads first; kernels before 6.2 (no bpf_rdonly_cast) refuse that object, and the
	 * CO-RE one is loaded instead. `compat` forces it (tests, and a way out on odd kernels). */
	char first_error[300] = "";
	int err = -1;
	for (int variant = compat ? 1 : 0; variant < 2 && err; variant++) {
		last_libbpf_error[0] = 0;
		if (progs_open(&h->progs, variant)) {
			snprintf(last_libbpf_error, sizeof(last_libbpf_error), "opening the eBPF object failed");
			continue;
		}
		h->progs.rodata->payload_cap = payload;
		h->progs.rodata->h2_payload_cap = h2;
		/* Ids: 21 bits of seed above 32 bits of counter, so they stay below 2^53 and runs differ. */
		uint64_t base = ((uint64_t)(seed & 0x1fffff) << 32) | 1;
		h->progs.data->next_trace_id = base;
		h->progs.data->next_socket_id = base;
		bpf_map__set_max_entries(h->progs.events, ring);
		err = progs_load(&h->progs);
		if (err) {
			if (variant == 0)
				snprintf(first_error, sizeof(first_error), "%s", last_libbpf_error);
			progs_destroy(&h->progs);
		}
	}
	if (err) {
		char msg[800];
		snprintf(msg, sizeof(msg), "loading the eBPF programs failed (%d): %s%s%s", err, last_libbpf_error,
			 first_error[0] ? "; with direct loads: " : "", first_error);
		free(h);
		THROW(env, msg);
	}
	h->loaded = 1;
	h->compat = h->progs.compat != NULL;
	h->rb = ring_buffer__new(bpf_map__fd(h->progs.events), on_record, h, NULL);
	if (!h->rb) {
		progs_destroy(&h->progs);
		free(h);
		THROW(env, "ring_buffer__new failed");
	}
	napi_value ext;
	CHECK(env, napi_create_external(env, h, finalize, NULL, &ext));
	return ext;
}

static napi_value js_attach(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	handle_t *h = get_handle(env, argv[0]);
	if (!h)
		return NULL;
	if (!h->attached) {
		int err = progs_attach(&h->progs);
		if (err) {
			char msg[700];
			snprintf(msg, sizeof(msg), "attaching the eBPF programs failed (%d): %s", err,
				 last_libbpf_error);
			THROW(env, msg);
		}
		h->attached = 1;
	}
	return NULL;
}

/* attachTls(handle, binaryPath) -> functions hooked: uprobes on SSL_write, SSL_read,
 * SSL_write_ex and SSL_read_ex of one binary (libssl.so.3, or a program with OpenSSL built in,
 * like node), for every process that maps it, now or later (uprobes belong to the file). A
 * function the binary does not export is skipped; 0 means none was found. */
static napi_value js_attach_tls(napi_env env, napi_callback_info info)
{
	static const char *const funcs[4] = {"SSL_write", "SSL_read", "SSL_write_ex", "SSL_read_ex"};
	size_t argc = 2;
	napi_value argv[2];
	CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	handle_t *h = get_handle(env, argv[0]);
	if (!h)
		return NULL;
	char path[4096];
	size_t len = 0;
	if (argc < 2 || napi_get_value_string_utf8(env, argv[1], path, sizeof(path), &len) != napi_ok || len == 0)
		THROW(env, "attachTls expects a binary path");
	if (!h->loaded)
		THROW(env, "attachTls: the eBPF programs are not loaded");
	if (h->nuprobes + 8 > 8 * MAX_TLS_BINARIES)
		THROW(env, "attachTls: too many binaries");
	uint32_t hooked = 0;
	for (int f = 0; f < 4; f++) {
		struct bpf_link *links[2] = {NULL, NULL};
		for (int r = 0; r < 2; r++) {
			LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = funcs[f], .retprobe = r == 1);
			links[r] = bpf_program__attach_uprobe_opts(h->progs.tls[2 * f + r], -1, path, 0, &opts);
			if (!links[r])
				break;
		}
		if (links[0] && links[1]) {
			h->uprobes[h->nuprobes++] = links[0];
			h->uprobes[h->nuprobes++] = links[1];
			hooked++;
		} else {
			/* Both or neither: an entry without its return would leave calls open forever. */
			bpf_link__destroy(links[0]);
			bpf_link__destroy(links[1]);
		}
	}
	napi_value out;
	CHECK(env, napi_create_uint32(env, hooked, &out));
	return out;
}

/* poll(handle, buffer, timeoutMs) -> bytes written */
static napi_value js_poll(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	handle_t *h = get_handle(env, argv[0]);
	if (!h)
		return NULL;
	void *data = NULL;
	size_t cap = 0;
	if (napi_get_buffer_info(env, argv[1], &data, &cap) != napi_ok)
		THROW(env, "poll expects a Buffer");
	int32_t timeout = 0;
	if (argc >= 3)
		napi_get_value_int32(env, argv[2], &timeout);
	h->out = data;
	h->out_cap = cap;
	h->out_len = 0;
	if (h->pending) {
		if (entry_size(h->pending_len) > cap)
			THROW(env, "poll buffer is smaller than one record");
		uint8_t *p = h->pending;
		size_t l = h->pending_len;
		h->pending = NULL;
		on_record(h, p, l);
		free(p);
	}
	/* Drain what is there without blocking; block only when there was nothing. */
	int n = ring_buffer__consume(h->rb);
	if (n == 0 && h->out_len == 0 && timeout > 0)
		ring_buffer__poll(h->rb, timeout);
	napi_value res;
	CHECK(env, napi_create_uint32(env, (uint32_t)h->out_len, &res));
	h->out = NULL;
	return res;
}

static napi_value js_stats(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	handle_t *h = get_handle(env, argv[0]);
	if (!h)
		return NULL;
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		THROW(env, "libbpf_num_possible_cpus failed");
	uint64_t *vals = calloc((size_t)ncpu, sizeof(uint64_t));
	const char *names[] = {"events", "drops", "stashFull"};
	napi_value obj;
	napi_create_object(env, &obj);
	for (uint32_t k = 0; k < 3; k++) {
		uint64_t sum = 0;
		if (bpf_map_lookup_elem(bpf_map__fd(h->progs.counters), &k, vals) == 0)
			for (int c = 0; c < ncpu; c++)
				sum += vals[c];
		napi_value v;
		napi_create_double(env, (double)sum, &v);
		napi_set_named_property(env, obj, names[k], v);
	}
	free(vals);
	napi_value pend, core;
	napi_get_boolean(env, h->pending != NULL, &pend);
	napi_set_named_property(env, obj, "pendingRecord", pend);
	napi_get_boolean(env, h->compat != 0, &core);
	napi_set_named_property(env, obj, "coreReads", core);
	return obj;
}

/* setFilter(handle, { enabled?, denyPids?, allowPids?, ports? }) */
static napi_value js_set_filter(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	handle_t *h = get_handle(env, argv[0]);
	if (!h)
		return NULL;
	if (argc < 2)
		THROW(env, "setFilter expects a filter object");
	struct weft_bpf__bss *bss = h->progs.bss;
	bool has = false;
	napi_has_named_property(env, argv[1], "enabled", &has);
	if (has) {
		napi_value v;
		bool b = true;
		napi_get_named_property(env, argv[1], "enabled", &v);
		napi_get_value_bool(env, v, &b);
		h->progs.data->tracing_enabled = b ? 1 : 0; /* initialised to 1, so it lives in .data */
	}
	fill_set(env, argv[1], "denyPids", bpf_map__fd(h->progs.pid_deny), 0);
	int na = fill_set(env, argv[1], "allowPids", bpf_map__fd(h->progs.pid_allow), 0);
	if (na >= 0)
		bss->pid_allow_mode = na > 0;
	int np = fill_set(env, argv[1], "ports", bpf_map__fd(h->progs.ports), 1);
	if (np >= 0)
		bss->port_filter_mode = np > 0;
	return NULL;
}

/* attachInterface(handle, ifindex, ingress, egress, netnsPath?): tc filters for NET capture on
 * one interface, of this network namespace or of the one at netnsPath (/run/netns/NAME,
 * /proc/PID/ns/net). Returns that namespace's inode (0 for our own), which detachInterface
 * takes. A loopback device wants one direction only: every frame on it is sent and received by
 * the same host, so each would be seen twice. */
static napi_value js_attach_interface(napi_env env, napi_callback_info info)
{
	size_t argc = 5;
	napi_value argv[5];
	CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	handle_t *h = get_handle(env, argv[0]);
	if (!h)
		return NULL;
	int32_t ifindex = 0;
	bool want[2] = {true, true};
	if (argc < 2 || napi_get_value_int32(env, argv[1], &ifindex) != napi_ok || ifindex <= 0)
		THROW(env, "attachInterface expects an ifindex");
	if (argc >= 3)
		napi_get_value_bool(env, argv[2], &want[0]);
	if (argc >= 4)
		napi_get_value_bool(env, argv[3], &want[1]);
	int ns_fd = -1;
	__u64 ns_ino = 0;
	napi_valuetype t = napi_undefined;
	if (argc >= 5)
		napi_typeof(env, argv[4], &t);
	if (t == napi_string) {
		char path[512];
		size_t len = 0;
		if (napi_get_value_string_utf8(env, argv[4], path, sizeof(path), &len) != napi_ok || len == 0 || len >= sizeof(path) - 1)
			THROW(env, "attachInterface: bad network namespace path");
		ns_fd = open(path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (ns_fd < 0 || fstat(ns_fd, &st) != 0) {
			char msg[600];
			snprintf(msg, sizeof(msg), "cannot open the network namespace %s (%s)", path, strerror(errno));
			if (ns_fd >= 0)
				close(ns_fd);
			THROW(env, msg);
		}
		ns_ino = st.st_ino;
	}
	int saved;
	int err = netns_enter(ns_fd, &saved);
	if (err) {
		if (ns_fd >= 0)
			close(ns_fd);
		char msg[200];
		snprintf(msg, sizeof(msg), "entering the network namespace failed (%d)", err);
		THROW(env, msg);
	}
	const enum bpf_tc_attach_point points[2] = {BPF_TC_INGRESS, BPF_TC_EGRESS};
	struct bpf_program *progs[2] = {h->progs.tc_ingress, h->progs.tc_egress};
	int created = 0;
	char msg[200] = "";
	int first = h->ntc;
	for (int d = 0; d < 2 && !msg[0]; d++) {
		if (!want[d])
			continue;
		if (h->ntc >= 2 * MAX_TC_INTERFACES) {
			snprintf(msg, sizeof(msg), "too many interfaces to capture on");
			break;
		}
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = points[d]);
		/* One clsact qdisc carries both directions; an existing one (tc users, Cilium) is shared. */
		err = bpf_tc_hook_create(&hook);
		if (err == 0)
			created = 1;
		else if (err != -EEXIST) {
			snprintf(msg, sizeof(msg), "creating the clsact qdisc on ifindex %d failed (%d)", ifindex, err);
			break;
		}
		/* A fixed handle and priority, replaced on attach: an agent that was killed leaves its
		 * filter on the interface, and the next one takes its place instead of adding a copy. */
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(progs[d]), .handle = WEFT_TC_HANDLE,
				    .priority = WEFT_TC_PRIORITY, .flags = BPF_TC_F_REPLACE);
		err = bpf_tc_attach(&hook, &opts);
		if (err) {
			snprintf(msg, sizeof(msg), "attaching the tc program on ifindex %d failed (%d)", ifindex, err);
			break;
		}
		struct tc_link *l = &h->tc[h->ntc++];
		l->ifindex = ifindex;
		l->point = points[d];
		l->handle = opts.handle;
		l->priority = opts.priority;
		/* The qdisc is removed once, with the last filter of this interface. */
		l->created_hook = 0;
		l->ns_fd = -1;
		l->ns_ino = ns_ino;
	}
	netns_leave(saved);
	if (created && h->ntc > first)
		h->tc[h->ntc - 1].created_hook = 1;
	/* Each link of another namespace holds its own descriptor, closed when it is detached. */
	for (int i = first; i < h->ntc; i++)
		if (ns_fd >= 0)
			h->tc[i].ns_fd = i == first ? ns_fd : dup(ns_fd);
	if (ns_fd >= 0 && h->ntc == first)
		close(ns_fd);
	if (msg[0])
		THROW(env, msg);
	napi_value ino;
	CHECK(env, napi_create_double(env, (double)ns_ino, &ino));
	return ino;
}

/* detachInterface(handle, ifindex, netnsIno): removes this handle's filters (and its qdisc) from
 * one interface, for an interface that went away or stopped matching. A gone interface took its
 * filters with it; this then only forgets them (and lets go of the namespace). */
static napi_value js_detach_interface(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3];
	CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	handle_t *h = get_handle(env, argv[0]);
	if (!h)
		return NULL;
	int32_t ifindex = 0;
	double ino = 0;
	if (argc < 2 || napi_get_value_int32(env, argv[1], &ifindex) != napi_ok || ifindex <= 0)
		THROW(env, "detachInterface expects an ifindex");
	if (argc >= 3)
		napi_get_value_double(env, argv[2], &ino);
	int kept = 0;
	for (int i = 0; i < h->ntc; i++) {
		struct tc_link *l = &h->tc[i];
		if (l->ifindex == ifindex && l->ns_ino == (__u64)ino)
			tc_detach_link(l);
		else
			h->tc[kept++] = *l;
	}
	h->ntc = kept;
	return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1];
	CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
	void *p = NULL;
	if (napi_get_value_external(env, argv[0], &p) == napi_ok && p)
		handle_free(p);
	return NULL;
}

/* clocks() -> [realtimeNs, monotonicNs] as BigInts, read back to back. */
static napi_value js_clocks(napi_env env, napi_callback_info info)
{
	(void)info;
	struct timespec m1, r, m2;
	clock_gettime(CLOCK_MONOTONIC, &m1);
	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m2);
	uint64_t mono = ((uint64_t)m1.tv_sec * 1000000000ull + m1.tv_nsec +
			 (uint64_t)m2.tv_sec * 1000000000ull + m2.tv_nsec) / 2;
	uint64_t real = (uint64_t)r.tv_sec * 1000000000ull + r.tv_nsec;
	napi_value arr, a, b;
	napi_create_array_with_length(env, 2, &arr);
	napi_create_bigint_uint64(env, real, &a);
	napi_create_bigint_uint64(env, mono, &b);
	napi_set_element(env, arr, 0, a);
	napi_set_element(env, arr, 1, b);
	return arr;
}

/* layout() -> { size, fields: { name: offset } } as the C compiler sees struct weft_event. */
static napi_value js_layout(napi_env env, napi_callback_info info)
{
	(void)info;
	napi_value obj, fields, v;
	napi_create_object(env, &obj);
	napi_create_object(env, &fields);
#define F(name)                                                                   \
	napi_create_uint32(env, (uint32_t)offsetof(struct weft_event, name), &v); \
	napi_set_named_property(env, fields, #name, v);
	F(kind) F(direction) F(syscall) F(flags) F(local_port) F(remote_port) F(pid) F(tid)
	F(enter_ns) F(exit_ns) F(socket_id) F(trace_id) F(bytes) F(tcp_seq) F(payload_len)
	F(local_addr) F(remote_addr) F(comm)
#undef F
	napi_create_uint32(env, (uint32_t)sizeof(struct weft_event), &v);
	napi_set_named_property(env, obj, "size", v);
	napi_set_named_property(env, obj, "fields", fields);
	napi_create_uint32(env, WEFT_MAX_PAYLOAD, &v);
	napi_set_named_property(env, obj, "maxPayload", v);
	napi_create_uint32(env, WEFT_MAX_DATA_PAYLOAD, &v);
	napi_set_named_property(env, obj, "maxDataPayload", v);
	return obj;
}

static napi_value init(napi_env env, napi_value exports)
{
	napi_property_descriptor props[] = {
		{"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
		{"attach", NULL, js_attach, NULL, NULL, NULL, napi_default, NULL},
		{"poll", NULL, js_poll, NULL, NULL, NULL, napi_default, NULL},
		{"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
		{"setFilter", NULL, js_set_filter, NULL, NULL, NULL, napi_default, NULL},
		{"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
		{"attachInterface", NULL, js_attach_interface, NULL, NULL, NULL, napi_default, NULL},
		{"attachTls", NULL, js_attach_tls, NULL, NULL, NULL, napi_default, NULL},
		{"detachInterface", NULL, js_detach_interface, NULL, NULL, NULL, napi_default, NULL},
		{"clocks", NULL, js_clocks, NULL, NULL, NULL, napi_default, NULL},
		{"layout", NULL, js_layout, NULL, NULL, NULL, napi_default, NULL},
	};
	napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
