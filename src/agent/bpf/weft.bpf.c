// SPDX-License-Identifier: GPL-2.0
/* @module Weft's socket tracer: one record per data syscall on a TCP/UDP socket.
 *
 * Only syscall tracepoints and sched tracepoints are used (kprobes/fentry are not available on
 * every kernel we target). Enter handlers resolve fd -> struct sock and stash the arguments per
 * thread; exit handlers read the payload prefix, apply the syscall-trace-id rule and emit one
 * record into a ring buffer. Everything else (parsing, sessions) lives in TypeScript.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "events.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define ID_MASK ((1ULL << 53) - 1)

/* Load-time settings (read-only after load; the verifier prunes on them). */
const volatile __u32 payload_cap = WEFT_DEFAULT_PAYLOAD;
/* The cap for sockets that carry HTTP/2 (http2_start), >= payload_cap: many streams' frames
 * leave in one write, and a frame past the cap loses its stream (and, for a header block, the
 * HPACK entries later blocks refer to). */
const volatile __u32 h2_payload_cap = WEFT_DEFAULT_HTTP2_PAYLOAD;

/* Runtime settings, written by userspace through the mmapped .bss. */
volatile __u32 tracing_enabled = 1;
volatile __u32 pid_allow_mode = 0;   /* 1: only pids in pid_allow */
volatile __u32 port_filter_mode = 0; /* 1: only sockets with a local or remote port in ports */

/* Counters seeded from userspace so ids from different runs do not collide. */
__u64 next_trace_id = 1;
__u64 next_socket_id = 1;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

/* [0] records emitted, [1] records dropped (ring buffer full), [2] enter stash full. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} pid_deny SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} pid_allow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u16);
	__type(value, __u8);
} ports SEC(".maps");

struct active_call {
	__u64 sock;     /* struct sock * */
	__u64 buf;      /* user buffer, iovec array, msghdr or mmsghdr, by syscall */
	__u64 addr;     /* user sockaddr (sendto/recvfrom), 0 if none */
	__u64 enter_ns;
	__u32 fd;
	__u32 iovcnt;
	__u32 tcp_seq;
	__u8 syscall;
	__u8 direction;
	__u8 seq_valid;
	__u8 peek; /* MSG_PEEK: the bytes will be read again */
};

/* Per-thread state in task-local storage: cheaper than a hash keyed by tid (no bucket lock,
 * no hashing), and freed with the thread. */
struct task_state {
	struct active_call call; /* the data syscall in flight, when call_valid */
	__u64 trace_id;          /* DeepFlow's trace_map entry: the thread's syscall trace id */
	__u32 conn_fd;           /* fd of a connect() in flight, when conn_valid */
	__u8 call_valid;
	__u8 trace_valid;
	__u8 conn_valid;
	__u8 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_state);
} tasks SEC(".maps");

static __always_inline struct task_state *task_state_get(int create)
{
	struct task_struct *task = bpf_get_current_task_btf();
	return bpf_task_storage_get(&tasks, task, 0, create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

/* Where one direction of an HTTP/2 connection stands in its frames, between two syscalls (or
 * SSL calls): a frame may end in a later write than the one its header was in, and a header
 * itself may be split. */
#define H2_OFF 0  /* frame boundaries unknown: plain prefix copy */
#define H2_HDR 1  /* reading a frame header: `have` of its 9 bytes seen, held in hdr */
#define H2_COPY 2 /* `need` more bytes of a frame that is kept whole (HEADERS, SETTINGS...) */
#define H2_SKIP 3 /* `need` more bytes of a DATA (or unknown type) payload, left out */
struct h2_walk {
	__u32 need;
	__u8 phase;
	__u8 have;
	__u8 hdr[10];
};

struct sock_state {
	__u64 id;
	__u64 msg_trace_id; /* trace id of the message now in flight on this socket */
	__u8 last_dir;      /* direction of the previous data syscall, 0 = none yet */
	__u8 http2;         /* the socket carries HTTP/2: copied up to h2_payload_cap */
	__u8 pad[2];
	/* The ports this state was made for (0 until the first data record): the kernel reuses a
	 * freed socket's memory, and a socket closed without a traced close() (its process exited)
	 * leaves its entry here for the next socket at that address. */
	__u16 local_port;
	__u16 remote_port;
	struct h2_walk walk[2]; /* by direction - 1 */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64); /* struct sock * */
	__type(value, struct sock_state);
} socks SEC(".maps");

/* Where a payload copy stands (see copy_step). */
struct copy_state {
	__u64 src;      /* next byte of the current segment */
	__u64 seg_left; /* bytes left in the current segment */
	__u64 iov_ptr;  /* iovec array, 0 when the source is one buffer */
	__u64 left;     /* bytes the call moved that are not copied yet */
	struct iovec iov[4]; /* iovecs [iov_next & ~3, +4) */
	__u32 iov_next; /* index of the next iovec to take */
	__u32 iovcnt;
	__u32 off;      /* bytes copied so far */
	__u32 cap;
};

/* Room for header + payload, too big for the 512-byte BPF stack. The copy's state lives here
 * too, not on the stack: the verifier follows stack values through every bpf_loop step and did
 * not converge, while a map value is read back as an unknown and the step is verified once. */
struct h2_gap {
	__u32 at;
	__u32 len;
};

/* A walk through one call's frames (see walk_step). */
struct walk_state {
	struct h2_walk w;
	__u8 hdr[32]; /* the frame header being read (room for masked offsets) */
	__u32 ngaps;
	__u32 stop;
	struct h2_gap gaps[WEFT_H2_MAX_GAPS + 1]; /* + the entry count, written after the last */
};

struct scratch {
	struct weft_event ev;
	/* + one copy chunk: off + chunk stays inside; a walk's gap table (<= 8 * 128 + 4) fits too. */
	__u8 payload[WEFT_MAX_DATA_PAYLOAD + 2048];
	struct copy_state cs;
	struct copy_state cs0; /* the copy's start, for a walk that starts over */
	struct walk_state ws;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (v)
		*v += 1;
}

static __always_inline int pid_traced(__u32 pid)
{
	if (!tracing_enabled)
		return 0;
	if (bpf_map_lookup_elem(&pid_deny, &pid))
		return 0;
	if (pid_allow_mode && !bpf_map_lookup_elem(&pid_allow, &pid))
		return 0;
	return 1;
}

/* Kernel structures are read in one of two ways, chosen at build time (the build makes both
 * objects; the addon loads the first the kernel accepts):
 * - direct loads through bpf_rdonly_cast (Linux 6.2+), a no-op cast the verifier understands:
 *   it turns a kernel address held as a number into a typed pointer, so each field is a plain
 *   load (a fault is caught by the JIT's exception table). Measured ~650 -> ~350 ns an enter.
 * - WEFT_CORE_READS: one bpf_probe_read_kernel helper call per field, for older kernels. */
#ifdef WEFT_CORE_READS
#define AS(type, p) ((type *)(p))
#define KREAD(p, field) BPF_CORE_READ(p, field)
#define KREAD_INTO(dst, p, field) BPF_CORE_READ_INTO(dst, p, field)
#else
extern void *bpf_rdonly_cast(const void *obj__ign, __u32 btf_id__k) __ksym;
#define AS(type, p) ((type *)bpf_rdonly_cast((const void *)(p), bpf_core_type_id_kernel(type)))
#define KREAD(p, field) ((p)->field)
#define KREAD_INTO(dst, p, field) __builtin_memcpy((dst), &(p)->field, sizeof(*(dst)))
#endif

/* fd -> struct file of the current task, or NULL. */
static __always_inline struct file *fd_to_file(__u32 fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct files_struct *files = KREAD(task, files);
	if (!files)
		return NULL;
	struct fdtable *fdt = KREAD(files, fdt);
	if (!fdt)
		return NULL;
	if (fd >= KREAD(fdt, max_fds))
		return NULL;
	/* A variable index into the fd array is not a direct load the verifier allows. */
	struct file **fds = KREAD(fdt, fd);
	struct file *fp = NULL;
	bpf_probe_read_kernel(&fp, sizeof(fp), &fds[fd]);
	if (!fp)
		return NULL;
	return AS(struct file, fp);
}

/* fd -> struct sock of a TCP/UDP IPv4/IPv6 socket, or NULL. Runs on every traced syscall. */
static __always_inline struct sock *fd_to_sock(__u32 fd)
{
	struct file *file = fd_to_file(fd);
	if (!file)
		return NULL;
	struct inode *inode = KREAD(file, f_inode);
	if (!inode)
		return NULL;
	if ((KREAD(inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	struct socket *sock = AS(struct socket, KREAD(file, private_data));
	if (!sock)
		return NULL;
	struct sock *sk = KREAD(sock, sk);
	if (!sk)
		return NULL;
	__u16 family = KREAD(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return NULL;
	__u16 proto = KREAD(sk, sk_protocol);
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return NULL;
	return sk;
}

static __always_inline int port_allowed(struct sock *sk)
{
	if (!port_filter_mode)
		return 1;
	__u16 lport = KREAD(sk, __sk_common.skc_num);
	__u16 rport = bpf_ntohs(KREAD(sk, __sk_common.skc_dport));
	if (bpf_map_lookup_elem(&ports, &lport) || bpf_map_lookup_elem(&ports, &rport))
		return 1;
	return 0;
}

static __always_inline struct sock_state *sock_state_of(__u64 skp)
{
	struct sock_state *st = bpf_map_lookup_elem(&socks, &skp);
	if (st)
		return st;
	struct sock_state fresh = {};
	fresh.id = __sync_fetch_and_add(&next_socket_id, 1);
	bpf_map_update_elem(&socks, &skp, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&socks, &skp);
}

/* A new socket at `skp`'s address (accept, connect, or other ports than the state's): a fresh
 * state with its own id, so nothing of the socket that was there before carries over (its id,
 * which the agent keys connections by, and its last direction, which starts messages). */
static __always_inline struct sock_state *sock_state_renew(__u64 skp)
{
	struct sock_state fresh = {};
	fresh.id = __sync_fetch_and_add(&next_socket_id, 1);
	bpf_map_update_elem(&socks, &skp, &fresh, BPF_ANY);
	return bpf_map_lookup_elem(&socks, &skp);
}

static __always_inline void fill_tuple(struct weft_event *ev, struct sock *sk)
{
	__u16 family = KREAD(sk, __sk_common.skc_family);
	ev->local_port = KREAD(sk, __sk_common.skc_num);
	ev->remote_port = bpf_ntohs(KREAD(sk, __sk_common.skc_dport));
	__builtin_memset(ev->local_addr, 0, 32);
	if (family == AF_INET6) {
		ev->flags |= WEFT_FLAG_IPV6;
		KREAD_INTO(&ev->local_addr, sk, __sk_common.skc_v6_rcv_saddr);
		KREAD_INTO(&ev->remote_addr, sk, __sk_common.skc_v6_daddr);
	} else {
		KREAD_INTO((__u32 *)ev->local_addr, sk, __sk_common.skc_rcv_saddr);
		KREAD_INTO((__u32 *)ev->remote_addr, sk, __sk_common.skc_daddr);
	}
	if (KREAD(sk, sk_protocol) == IPPROTO_UDP)
		ev->flags |= WEFT_FLAG_UDP;
}

/* An unconnected UDP socket has no peer in sk_common: take it from the user sockaddr. */
static __always_inline void peer_from_sockaddr(struct weft_event *ev, __u64 uaddr)
{
	if (!uaddr || ev->remote_port)
		return;
	__u16 family = 0;
	bpf_probe_read_user(&family, sizeof(family), (void *)uaddr);
	if (family == AF_INET) {
		struct sockaddr_in sin = {};
		bpf_probe_read_user(&sin, sizeof(sin), (void *)uaddr);
		ev->remote_port = bpf_ntohs(sin.sin_port);
		__builtin_memset(ev->remote_addr, 0, 16);
		__builtin_memcpy(ev->remote_addr, &sin.sin_addr, 4);
	} else if (family == AF_INET6) {
		struct sockaddr_in6 sin6 = {};
		bpf_probe_read_user(&sin6, sizeof(sin6), (void *)uaddr);
		ev->remote_port = bpf_ntohs(sin6.sin6_port);
		__builtin_memcpy(ev->remote_addr, &sin6.sin6_addr, 16);
	}
}

/* Payload copy. A syscall's bytes are copied in chunks of COPY_CHUNK, each one helper call into
 * the scratch at the running offset, until the cap: one helper call of a variable size up to the
 * whole cap would need scratch room for offset + size (twice the cap, beyond the per-CPU value
 * limit), while a chunk needs the cap plus one chunk. The source is one buffer or an iovec array
 * (readv/writev/msghdr); iovecs are read four at a time (one helper call each ~100 ns, and Node
 * writes every HTTP/2 frame part as an iovec of its own). The steps run in a bpf_loop (Linux
 * 5.17+, inlined by the verifier) in the direct-load object, and COMPAT_STEPS unrolled ones in the
 * CO-RE object, which may run on kernels without bpf_loop: 8 steps reach the 16 KiB cap when the
 * source is one buffer or few iovecs (an empty or short iovec uses a step). */
#define COPY_CHUNK 2048
/* iovecs looked at in one call (UIO_MAXIOV is 1024; past this the prefix stops); an HTTP/2 walk
 * must see all of them to stay in step. */
#define IOV_MAX_VISIT 256
#define IOV_MAX_WALK 1024
#define COPY_STEPS (WEFT_MAX_DATA_PAYLOAD / COPY_CHUNK + IOV_MAX_VISIT + 1)
#define COMPAT_STEPS 8


static __always_inline void copy_from_buffer(struct copy_state *c, __u64 buf, __u64 len, __u32 cap)
{
	__builtin_memset(c, 0, sizeof(*c));
	c->src = buf;
	c->seg_left = len;
	c->left = len;
	c->cap = cap;
}

static __always_inline void copy_from_iov(struct copy_state *c, __u64 iov_ptr, __u32 iovcnt, __u64 total, __u32 cap)
{
	__builtin_memset(c, 0, sizeof(*c));
	c->iov_ptr = iov_ptr;
	/* A walk (below) must see every iovec to stay in step; a plain copy stops at IOV_MAX_VISIT. */
	c->iovcnt = iovcnt < IOV_MAX_WALK ? iovcnt : IOV_MAX_WALK;
	c->left = total;
	c->cap = cap;
}

/* The next four iovecs (fewer at the end of the array) in one helper call; constant sizes, as the
 * verifier needs a provable bound. */
static __always_inline int iov_fill(struct copy_state *c)
{
	__u32 n = c->iovcnt - c->iov_next;
	void *src = (void *)(c->iov_ptr + (__u64)c->iov_next * sizeof(struct iovec));
	if (n >= 4)
		return bpf_probe_read_user(c->iov, 4 * sizeof(struct iovec), src);
	if (n == 3)
		return bpf_probe_read_user(c->iov, 3 * sizeof(struct iovec), src);
	if (n == 2)
		return bpf_probe_read_user(c->iov, 2 * sizeof(struct iovec), src);
	return bpf_probe_read_user(c->iov, sizeof(struct iovec), src);
}

/* One step: take the next iovec when the segment is used up, then copy up to a chunk of it.
 * Returns 1 when the copy is over (cap reached, every byte copied, a fault). */
static __always_inline int copy_step(struct scratch *s)
{
	struct copy_state *c = &s->cs;
	if (c->left == 0 || c->off >= c->cap)
		return 1;
	if (c->seg_left == 0) {
		if (!c->iov_ptr || c->iov_next >= c->iovcnt || c->iov_next >= IOV_MAX_VISIT)
			return 1;
		__u32 slot = c->iov_next & 3;
		if (slot == 0 && iov_fill(c))
			return 1;
		struct iovec *v = slot == 0 ? &c->iov[0] : slot == 1 ? &c->iov[1] : slot == 2 ? &c->iov[2] : &c->iov[3];
		c->src = (__u64)v->iov_base;
		c->seg_left = v->iov_len;
		c->iov_next++;
		if (c->seg_left == 0)
			return 0;
	}
	__u64 want = c->seg_left < c->left ? c->seg_left : c->left;
	__u32 room = c->cap - c->off;
	if (want > room)
		want = room;
	if (want > COPY_CHUNK)
		want = COPY_CHUNK;
	__u64 off = c->off;
	/* Bounds the verifier can follow: off below the largest cap, n in [1, COPY_CHUNK] (a plain
	 * "n == 0" test is folded away by clang before the call). The mask after the barrier keeps
	 * the bound on the register the call uses (clang otherwise checks one copy, uses another). */
	if (off >= WEFT_MAX_DATA_PAYLOAD || want == 0)
		return 1;
	barrier_var(off);
	off &= WEFT_MAX_DATA_PAYLOAD - 1;
	__u32 n = (((__u32)want - 1) & (COPY_CHUNK - 1)) + 1;
	if (bpf_probe_read_user(s->payload + off, n, (void *)c->src))
		return 1;
	c->off += n;
	c->src += n;
	c->seg_left -= n;
	c->left -= n;
	return 0;
}

#ifndef WEFT_CORE_READS
static long copy_step_cb(__u32 i, void *ctx)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 1;
	return copy_step(s);
}
#endif

/* Runs the copy to its end; returns the bytes in s->payload. */
static __always_inline __u32 copy_run(struct scratch *s)
{
#ifndef WEFT_CORE_READS
	bpf_loop(COPY_STEPS, copy_step_cb, NULL, 0);
#else
#pragma unroll
	for (int i = 0; i < COMPAT_STEPS; i++)
		if (copy_step(s))
			break;
#endif
	return s->cs.off;
}

/* Whether a message that starts with these bytes is HTTP/2: the client's connection preface, or
 * (a connection that was open before the agent) a frame header that a message starts with — a
 * HEADERS, SETTINGS, PING or WINDOW_UPDATE frame of at most the default frame size, with a stream
 * id that fits its type. Only how much is copied depends on it, never what a parser is told: a
 * false positive costs copy time, never a wrong span. Text protocols and TLS records fail the
 * length test (their first bytes would make it above 16 KiB). */
static __always_inline int http2_start(const __u8 *p, __u32 len)
{
	if (len < 9)
		return 0;
	if (p[0] == 'P' && p[1] == 'R' && p[2] == 'I' && p[3] == ' ' && p[4] == '*' && p[5] == ' ' && p[6] == 'H' && p[7] == 'T')
		return 1;
	__u32 flen = ((__u32)p[0] << 16) | ((__u32)p[1] << 8) | p[2];
	__u8 type = p[3], flags = p[4];
	__u32 sid = ((__u32)p[5] << 24) | ((__u32)p[6] << 16) | ((__u32)p[7] << 8) | p[8];
	if (flen > 16384 || (sid >> 31))
		return 0;
	switch (type) {
	case 1: /* HEADERS: a stream; only END_STREAM, END_HEADERS, PADDED, PRIORITY */
		return sid != 0 && (flags & ~0x2d) == 0;
	case 4: /* SETTINGS */
		return sid == 0 && flen % 6 == 0 && (flags & ~1) == 0 && (!(flags & 1) || flen == 0);
	case 6: /* PING */
		return sid == 0 && flen == 8 && (flags & ~1) == 0;
	case 8: /* WINDOW_UPDATE */
		return flen == 4 && flags == 0;
	}
	return 0;
}

/* ---- HTTP/2 frame walk ----
 * One write on an HTTP/2 connection often moves far more than the cap: a large body's DATA
 * frames beside other streams' small HEADERS (nghttpd writes a 200 KB body and two other answers
 * in writes of 28-49 KB), and a frame past the cap would lose its stream. So an HTTP/2
 * connection's bytes are read frame by frame, through the whole call: every frame header is
 * kept, every frame but DATA (and unknown types) is kept whole (HEADERS, CONTINUATION,
 * PUSH_PROMISE, RST_STREAM, SETTINGS, GOAWAY, PING, PRIORITY, WINDOW_UPDATE: what pairing and
 * HPACK need, all small), and DATA payloads are left out, each listed as a gap (where, how long;
 * events.h) so user space knows every kept byte's exact position and can never read a left-out
 * byte as a frame. Where a frame (or its header) continues in the next call is kept per
 * direction (h2_walk). The walk stops — and the direction falls back to the plain prefix until a
 * message start shows a frame again — on a reserved bit, a kept frame larger than the room left,
 * a full gap table, an unreadable iovec or the step budget; what it read until then is exact.
 * Direct-load object only: the walk needs bpf_loop (the CO-RE object copies a prefix). */
#ifndef WEFT_CORE_READS
#define H2_WALK 1
/* One step reads a header, copies up to a chunk, skips within an iovec or takes the next iovec. */
#define WALK_STEPS (2 * IOV_MAX_WALK + 4096)
#define H2_PREFACE_LEN 24

static __always_inline void advance(struct copy_state *c, __u64 n)
{
	c->src += n;
	c->seg_left -= n;
	c->left -= n;
}

static __always_inline int walk_stop(struct walk_state *k)
{
	k->stop = 1;
	return 1;
}

/* The left-out bytes [off - 0, +n) of the kept stream, merged into the last gap when adjacent. */
static __always_inline int walk_gap(struct walk_state *k, __u32 at, __u64 n)
{
	__u32 last = k->ngaps - 1;
	if (k->ngaps > 0 && last < WEFT_H2_MAX_GAPS && k->gaps[last].at == at) {
		k->gaps[last].len += n;
		return 0;
	}
	__u32 i = k->ngaps;
	if (i >= WEFT_H2_MAX_GAPS)
		return 1;
	k->gaps[i].at = at;
	k->gaps[i].len = n;
	k->ngaps = i + 1;
	return 0;
}

/* Whether a header keeps RFC 9113's rules for its type (§6: the flags it defines — a sender
 * leaves the others unset —, the stream ids and fixed lengths it allows), as the parser's resync
 * does: a walk that started in the wrong place meets a header that breaks them within a frame or
 * two and stops, instead of passing over megabytes of real frames as one bogus payload. */
static __always_inline int h2_header_legal(__u8 type, __u8 flags, __u32 len, __u32 sid)
{
	switch (type) {
	case 0: /* DATA */
		return sid && !(flags & ~0x09);
	case 1: /* HEADERS */
		return sid && !(flags & ~0x2d);
	case 2: /* PRIORITY */
		return sid && !flags && len == 5;
	case 3: /* RST_STREAM */
		return sid && !flags && len == 4;
	case 4: /* SETTINGS */
		return !sid && !(flags & ~1) && len % 6 == 0 && (!(flags & 1) || !len);
	case 5: /* PUSH_PROMISE */
		return sid && !(flags & ~0x0c) && len >= 4;
	case 6: /* PING */
		return !sid && !(flags & ~1) && len == 8;
	case 7: /* GOAWAY */
		return !sid && !flags && len >= 8;
	case 8: /* WINDOW_UPDATE */
		return !flags && len == 4;
	case 9: /* CONTINUATION */
		return sid && !(flags & ~0x04);
	}
	/* Extension frames (ALTSVC, ORIGIN, PRIORITY_UPDATE) are small. */
	return len <= 16384;
}

/* What follows a complete header: which part comes next. 1 = stop. */
static __always_inline int walk_header_done(struct copy_state *c, struct walk_state *k)
{
	__u32 flen = ((__u32)k->hdr[0] << 16) | ((__u32)k->hdr[1] << 8) | k->hdr[2];
	__u8 type = k->hdr[3];
	__u32 sid = ((__u32)k->hdr[5] << 24) | ((__u32)k->hdr[6] << 16) | ((__u32)k->hdr[7] << 8) | k->hdr[8];
	k->w.have = 0;
	/* The reserved bit, or rules its type breaks: not a frame header, we are out of step. */
	if ((sid >> 31) || !h2_header_legal(type, k->hdr[4], flen, sid))
		return 1;
	k->w.need = flen;
	if (type == 0 || type > 9) {
		k->w.phase = flen ? H2_SKIP : H2_HDR;
		return 0;
	}
	/* Kept whole: its part in this call must fit in the room left. */
	__u64 here = flen < c->left ? flen : c->left;
	if (here > c->cap - c->off)
		return 1;
	k->w.phase = flen ? H2_COPY : H2_HDR;
	return 0;
}

static __always_inline int walk_step(struct scratch *s)
{
	struct copy_state *c = &s->cs;
	struct walk_state *k = &s->ws;
	if (c->left == 0)
		return 1;
	if (c->seg_left == 0) {
		if (!c->iov_ptr || c->iov_next >= c->iovcnt)
			return walk_stop(k);
		__u32 slot = c->iov_next & 3;
		if (slot == 0 && iov_fill(c))
			return walk_stop(k);
		struct iovec *v = slot == 0 ? &c->iov[0] : slot == 1 ? &c->iov[1] : slot == 2 ? &c->iov[2] : &c->iov[3];
		c->src = (__u64)v->iov_base;
		c->seg_left = v->iov_len;
		c->iov_next++;
		return 0;
	}
	__u64 avail = c->seg_left < c->left ? c->seg_left : c->left;
	__u32 off = c->off;
	if (off > c->cap || c->cap > WEFT_MAX_DATA_PAYLOAD)
		return walk_stop(k);
	__u32 room = c->cap - off;
	__u64 n;
	switch (k->w.phase) {
	case H2_HDR: {
		__u32 have = k->w.have;
		if (have > 8)
			return walk_stop(k);
		n = 9 - have;
		if (n > avail)
			n = avail;
		if (n > room || n == 0)
			return walk_stop(k);
		__u32 m = (((__u32)n - 1) & 15) + 1;
		barrier_var(have);
		have &= 15;
		if (bpf_probe_read_user(k->hdr + have, m, (void *)c->src))
			return walk_stop(k);
		/* The header's bytes are kept too, where they came (a split header in two records). */
#pragma unroll
		for (int i = 0; i < 9; i++)
			if (i < m)
				s->payload[(off + i) & (WEFT_MAX_DATA_PAYLOAD - 1)] = k->hdr[(have + i) & 31];
		advance(c, m);
		c->off = off + m;
		k->w.have = have + m;
		if (have + m < 9)
			return 0;
		return walk_header_done(c, k) ? walk_stop(k) : 0;
	}
	case H2_COPY: {
		n = k->w.need;
		if (n > avail)
			n = avail;
		if (n > room)
			n = room;
		if (n > COPY_CHUNK)
			n = COPY_CHUNK;
		__u64 o = off;
		if (o >= WEFT_MAX_DATA_PAYLOAD || n == 0)
			return walk_stop(k);
		barrier_var(o);
		o &= WEFT_MAX_DATA_PAYLOAD - 1;
		__u32 m = (((__u32)n - 1) & (COPY_CHUNK - 1)) + 1;
		if (bpf_probe_read_user(s->payload + o, m, (void *)c->src))
			return walk_stop(k);
		advance(c, m);
		c->off = off + m;
		k->w.need -= m;
		if (k->w.need == 0)
			k->w.phase = H2_HDR;
		return 0;
	}
	case H2_SKIP: {
		n = k->w.need;
		if (n > avail)
			n = avail;
		if (walk_gap(k, off, n))
			return walk_stop(k);
		advance(c, n);
		k->w.need -= n;
		if (k->w.need == 0)
			k->w.phase = H2_HDR;
		return 0;
	}
	}
	return walk_stop(k);
}

static long walk_step_cb(__u32 i, void *ctx)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 1;
	return walk_step(s);
}

/* A direction found at a frame boundary (a message starting with the preface or a frame header). */
static __always_inline void walk_begin(struct h2_walk *w, const __u8 *p)
{
	__builtin_memset(w, 0, sizeof(*w));
	if (p[0] == 'P') {
		/* The preface is kept whole; frames follow it. */
		w->phase = H2_COPY;
		w->need = H2_PREFACE_LEN;
	} else {
		w->phase = H2_HDR;
	}
}

/* Walks the call whose copy is set up in s->cs from where `w` stands; appends the gap table and
 * returns the payload length. `w` is left where the call ended, or H2_OFF if the walk stopped. */
static __always_inline __u32 walk_run(struct scratch *s, struct h2_walk *w)
{
	struct walk_state *k = &s->ws;
	k->w = *w;
	__builtin_memcpy(k->hdr, w->hdr, sizeof(w->hdr));
	k->ngaps = 0;
	k->stop = 0;
	bpf_loop(WALK_STEPS, walk_step_cb, NULL, 0);
	if (k->stop || s->cs.left) {
		w->phase = H2_OFF;
	} else {
		*w = k->w;
		__builtin_memcpy(w->hdr, k->hdr, sizeof(w->hdr));
	}
	__u32 d = s->cs.off;
	__u32 n = k->ngaps;
	if (d > WEFT_MAX_DATA_PAYLOAD || n > WEFT_H2_MAX_GAPS)
		return 0;
	/* The entry count follows the last entry, so table and count leave in one copy. */
	k->gaps[n].at = n;
	barrier_var(d);
	d &= 2 * WEFT_MAX_DATA_PAYLOAD - 1;
	__u32 tbl = n * sizeof(struct h2_gap) + 4;
	if (d > WEFT_MAX_DATA_PAYLOAD || tbl > WEFT_H2_MAX_GAPS * sizeof(struct h2_gap) + 4)
		return 0;
	if (bpf_probe_read_kernel(s->payload + d, tbl, k->gaps))
		return 0;
	s->ev.flags |= WEFT_FLAG_H2_WALK;
	return d + tbl;
}
#else
#define H2_WALK 0
static __always_inline void walk_begin(struct h2_walk *w, const __u8 *p) {}
static __always_inline __u32 walk_run(struct scratch *s, struct h2_walk *w) { return 0; }
#endif

/* Copies the call set up in s->cs: walked frame by frame when its direction of an HTTP/2
 * connection is in step (`w`), else a plain prefix up to the cap; a plain copy that shows the
 * preface or a frame header where it may start (`may_start`) marks the connection HTTP/2
 * (`*marked`) and is walked from its start. Returns the payload length. */
static __always_inline __u32 copy_or_walk(struct scratch *s, struct h2_walk *w, int may_start, __u8 *marked)
{
	if (H2_WALK && w && *marked && w->phase != H2_OFF)
		return walk_run(s, w);
	/* A marked connection looks for a frame start again only to walk (the cap is already up). */
	may_start = may_start && h2_payload_cap > payload_cap && (H2_WALK || !*marked);
	if (H2_WALK && may_start)
		s->cs0 = s->cs;
	__u32 len = copy_run(s);
	if (!may_start || !http2_start(s->payload, len))
		return len;
	*marked = 1;
	if (H2_WALK && w) {
		walk_begin(w, s->payload);
		s->cs = s->cs0;
		s->cs.cap = h2_payload_cap;
		return walk_run(s, w);
	}
	s->cs.cap = h2_payload_cap;
	return copy_run(s);
}

/* A record without payload: connection and process lifecycle. */
static __always_inline void emit_small(__u8 kind, __u64 pid_tgid, struct sock *sk, __u64 sock_id)
{
	struct weft_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count(1);
		return;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->pid = pid_tgid >> 32;
	ev->tid = (__u32)pid_tgid;
	ev->enter_ns = ev->exit_ns = bpf_ktime_get_ns();
	ev->socket_id = sock_id;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	if (sk)
		fill_tuple(ev, sk);
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
	count(0);
}

#include "tls.bpf.h"

/* ---- enter ---- */

#define MSG_PEEK 2

static __always_inline int on_enter_flags(__u8 syscall, __u8 dir, __u32 fd, __u64 buf, __u32 iovcnt,
					  __u64 addr, __u64 msg_flags)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!pid_traced(pid_tgid >> 32))
		return 0;
	struct sock *sk = fd_to_sock(fd);
	if (!sk)
		return 0;
	if (tls_on_syscall((__u32)pid_tgid, sk, dir) || !port_allowed(sk))
		return 0;
	struct active_call call = {};
	call.sock = (__u64)sk;
	call.buf = buf;
	call.addr = addr;
	call.fd = fd;
	call.iovcnt = iovcnt;
	call.syscall = syscall;
	call.direction = dir;
	call.peek = (msg_flags & MSG_PEEK) != 0;
	call.enter_ns = bpf_ktime_get_ns();
	if (KREAD(sk, sk_protocol) == IPPROTO_TCP) {
		/* Read at ENTER, before the kernel moves the data: write_seq is then the sequence
		 * number the first byte we are about to send will get, and copied_seq is the sequence
		 * number of the first byte this read will copy out. The same message therefore carries
		 * the same seq at the sender's egress and at the receiver's ingress. */
		struct tcp_sock *tp = AS(struct tcp_sock, sk);
		call.tcp_seq = dir == WEFT_DIR_EGRESS ? KREAD(tp, write_seq) : KREAD(tp, copied_seq);
		call.seq_valid = 1;
	}
	struct task_state *ts = task_state_get(1);
	if (!ts) {
		count(2);
		return 0;
	}
	ts->call = call;
	ts->call_valid = 1;
	return 0;
}

static __always_inline int on_enter(__u8 syscall, __u8 dir, __u32 fd, __u64 buf, __u32 iovcnt, __u64 addr)
{
	return on_enter_flags(syscall, dir, fd, buf, iovcnt, addr, 0);
}

#define ENTER_SIMPLE(name, sc, dir)                                                        \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                        \
	int enter_##name(struct trace_event_raw_sys_enter *ctx)                            \
	{                                                                                  \
		return on_enter(sc, dir, ctx->args[0], ctx->args[1], 0, 0);                \
	}

ENTER_SIMPLE(read, WEFT_SYS_READ, WEFT_DIR_INGRESS)
ENTER_SIMPLE(write, WEFT_SYS_WRITE, WEFT_DIR_EGRESS)
SEC("tracepoint/syscalls/sys_enter_recvmsg")
int enter_recvmsg(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter_flags(WEFT_SYS_RECVMSG, WEFT_DIR_INGRESS, ctx->args[0], ctx->args[1], 0, 0, ctx->args[2]);
}

ENTER_SIMPLE(sendmsg, WEFT_SYS_SENDMSG, WEFT_DIR_EGRESS)
ENTER_SIMPLE(recvmmsg, WEFT_SYS_RECVMMSG, WEFT_DIR_INGRESS)
ENTER_SIMPLE(sendmmsg, WEFT_SYS_SENDMMSG, WEFT_DIR_EGRESS)

SEC("tracepoint/syscalls/sys_enter_readv")
int enter_readv(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter(WEFT_SYS_READV, WEFT_DIR_INGRESS, ctx->args[0], ctx->args[1], ctx->args[2], 0);
}

SEC("tracepoint/syscalls/sys_enter_writev")
int enter_writev(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter(WEFT_SYS_WRITEV, WEFT_DIR_EGRESS, ctx->args[0], ctx->args[1], ctx->args[2], 0);
}

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int enter_recvfrom(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter_flags(WEFT_SYS_RECVFROM, WEFT_DIR_INGRESS, ctx->args[0], ctx->args[1], 0,
			      ctx->args[4], ctx->args[3]);
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int enter_sendto(struct trace_event_raw_sys_enter *ctx)
{
	return on_enter(WEFT_SYS_SENDTO, WEFT_DIR_EGRESS, ctx->args[0], ctx->args[1], 0,
			ctx->args[4]);
}

/* ---- exit ---- */

static __always_inline int on_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct task_state *ts = task_state_get(0);
	if (!ts || !ts->call_valid)
		return 0;
	struct active_call c = ts->call;
	ts->call_valid = 0;
	/* A peek's bytes come again in the next read: recording them would count them twice (and
	 * move an HTTP/2 walk past bytes it then sees again). */
	if (ret <= 0 || c.peek)
		return 0;

	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	struct weft_event *ev = &s->ev;
	struct sock *sk = AS(struct sock, c.sock);

	ev->kind = WEFT_KIND_DATA;
	ev->direction = c.direction;
	ev->syscall = c.syscall;
	ev->flags = c.seq_valid ? WEFT_FLAG_SEQ_VALID : 0;
	ev->pid = pid_tgid >> 32;
	ev->tid = (__u32)pid_tgid;
	ev->enter_ns = c.enter_ns;
	ev->exit_ns = bpf_ktime_get_ns();
	ev->bytes = ret;
	ev->tcp_seq = c.tcp_seq;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	fill_tuple(ev, sk);

	/* The socket's state first: an HTTP/2 connection is copied up to the larger cap. */
	struct sock_state *st = sock_state_of(c.sock);
	if (!st)
		return 0;
	if (st->local_port != ev->local_port || st->remote_port != ev->remote_port) {
		if (st->local_port || st->remote_port) {
			st = sock_state_renew(c.sock);
			if (!st)
				return 0;
		}
		st->local_port = ev->local_port;
		st->remote_port = ev->remote_port;
	}
	int start = st->last_dir != c.direction;

	/* Payload: where the bytes are depends on the syscall. */
	__u32 cap = st->http2 ? h2_payload_cap : payload_cap;
	struct copy_state *cs = &s->cs;
	__u64 uaddr = c.addr;
	switch (c.syscall) {
	case WEFT_SYS_READ:
	case WEFT_SYS_WRITE:
	case WEFT_SYS_RECVFROM:
	case WEFT_SYS_SENDTO:
		copy_from_buffer(cs, c.buf, ret, cap);
		break;
	case WEFT_SYS_READV:
	case WEFT_SYS_WRITEV:
		copy_from_iov(cs, c.buf, c.iovcnt, ret, cap);
		break;
	case WEFT_SYS_RECVMSG:
	case WEFT_SYS_SENDMSG:
	case WEFT_SYS_RECVMMSG:
	case WEFT_SYS_SENDMMSG: {
		/* struct mmsghdr starts with its struct msghdr, so both read the first message. */
		struct user_msghdr msg = {};
		__u64 total = ret;
		if (bpf_probe_read_user(&msg, sizeof(msg), (void *)c.buf))
			total = 0;
		if (total && (c.syscall == WEFT_SYS_RECVMMSG || c.syscall == WEFT_SYS_SENDMMSG)) {
			/* ret counts messages; the first message's length follows its msghdr. */
			__u32 mlen = 0;
			bpf_probe_read_user(&mlen, sizeof(mlen),
					    (void *)(c.buf + sizeof(struct user_msghdr)));
			total = mlen;
			ev->bytes = mlen;
		}
		uaddr = (__u64)msg.msg_name;
		copy_from_iov(cs, (__u64)msg.msg_iov, msg.msg_iovlen, total, cap);
		break;
	}
	default:
		copy_from_buffer(cs, 0, 0, 0);
	}
	/* A connection starts being walked (or copied up to the larger cap) at a message start. */
	__u32 len = copy_or_walk(s, &st->walk[(c.direction - 1) & 1], start, &st->http2);
	peer_from_sockaddr(ev, uaddr);
	ev->payload_len = len;

	/* Message boundaries and the syscall trace id (DeepFlow's rule, §1.1 of the reference):
	 * a syscall whose direction differs from the previous one on the socket starts a message.
	 * Ingress message start: open a new id and remember it for this thread.
	 * Egress message start: take the thread's id (0 if none) and forget it.
	 * Continuations carry the id of the message they continue. */
	ev->socket_id = st->id;
	if (start) {
		ev->flags |= WEFT_FLAG_MSG_START;
		if (c.direction == WEFT_DIR_INGRESS) {
			__u64 id = __sync_fetch_and_add(&next_trace_id, 1) & ID_MASK;
			ts->trace_id = id;
			ts->trace_valid = 1;
			st->msg_trace_id = id;
		} else {
			st->msg_trace_id = ts->trace_valid ? ts->trace_id : 0;
			ts->trace_valid = 0;
		}
		st->last_dir = c.direction;
	}
	ev->trace_id = st->msg_trace_id;

	__u64 size = sizeof(struct weft_event) + (len & (WEFT_MAX_DATA_PAYLOAD * 2 - 1));
	if (size > sizeof(struct scratch))
		return 0;
	/* No wakeup: the agent drains on its own schedule, and a wakeup per record (irq_work plus
	 * an epoll wakeup) would cost the traced process more than the rest of this program. */
	if (bpf_ringbuf_output(&events, s, size, BPF_RB_NO_WAKEUP))
		count(1);
	else
		count(0);
	return 0;
}

#define EXIT(name)                                                                         \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                         \
	int exit_##name(struct trace_event_raw_sys_exit *ctx)                              \
	{                                                                                  \
		return on_exit(ctx->ret);                                                  \
	}

EXIT(read)
EXIT(readv)
EXIT(recvfrom)
EXIT(recvmsg)
EXIT(recvmmsg)
EXIT(write)
EXIT(writev)
EXIT(sendto)
EXIT(sendmsg)
EXIT(sendmmsg)

/* ---- connection lifecycle ---- */

SEC("tracepoint/syscalls/sys_enter_close")
int enter_close(struct trace_event_raw_sys_enter *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!pid_traced(pid_tgid >> 32))
		return 0;
	struct sock *sk = fd_to_sock(ctx->args[0]);
	if (!sk)
		return 0;
	__u64 skp = (__u64)sk;
	struct sock_state *st = bpf_map_lookup_elem(&socks, &skp);
	if (!st)
		return 0; /* never saw data: nobody downstream knows this socket */
	emit_small(WEFT_KIND_CLOSE, pid_tgid, sk, st->id);
	bpf_map_delete_elem(&socks, &skp);
	return 0;
}

static __always_inline int conn_enter(__u32 fd)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!pid_traced(pid_tgid >> 32))
		return 0;
	struct task_state *ts = task_state_get(1);
	if (ts) {
		ts->conn_fd = fd;
		ts->conn_valid = 1;
	}
	return 0;
}

static __always_inline int conn_exit(__u8 kind, long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct task_state *ts = task_state_get(0);
	if (!ts || !ts->conn_valid)
		return 0;
	__u32 fd = kind == WEFT_KIND_ACCEPT ? (__u32)ret : ts->conn_fd;
	ts->conn_valid = 0;
	/* Non-blocking connect returns -EINPROGRESS (-115) and still becomes a connection. */
	if (kind == WEFT_KIND_ACCEPT ? ret < 0 : (ret < 0 && ret != -115))
		return 0;
	struct sock *sk = fd_to_sock(fd);
	if (!sk || !port_allowed(sk))
		return 0;
	/* connect()/accept() begin a socket's life: whatever state sits at its address is another's. */
	struct sock_state *st = sock_state_renew((__u64)sk);
	if (!st)
		return 0;
	emit_small(kind, pid_tgid, sk, st->id);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int enter_connect(struct trace_event_raw_sys_enter *ctx) { return conn_enter(ctx->args[0]); }
SEC("tracepoint/syscalls/sys_exit_connect")
int exit_connect(struct trace_event_raw_sys_exit *ctx) { return conn_exit(WEFT_KIND_CONNECT, ctx->ret); }
SEC("tracepoint/syscalls/sys_enter_accept")
int enter_accept(struct trace_event_raw_sys_enter *ctx) { return conn_enter(ctx->args[0]); }
SEC("tracepoint/syscalls/sys_exit_accept")
int exit_accept(struct trace_event_raw_sys_exit *ctx) { return conn_exit(WEFT_KIND_ACCEPT, ctx->ret); }
SEC("tracepoint/syscalls/sys_enter_accept4")
int enter_accept4(struct trace_event_raw_sys_enter *ctx) { return conn_enter(ctx->args[0]); }
SEC("tracepoint/syscalls/sys_exit_accept4")
int exit_accept4(struct trace_event_raw_sys_exit *ctx) { return conn_exit(WEFT_KIND_ACCEPT, ctx->ret); }

/* ---- packets: tc (clsact) on the interfaces the agent was given (tc.bpf.h) ---- */

#include "tc.bpf.h"

/* ---- processes ---- */

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!pid_traced(pid_tgid >> 32))
		return 0;
	emit_small(WEFT_KIND_EXEC, pid_tgid, NULL, 0);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int on_exit_proc(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if ((__u32)pid_tgid != (__u32)(pid_tgid >> 32))
		return 0; /* a thread, not the process */
	if (!pid_traced(pid_tgid >> 32))
		return 0;
	emit_small(WEFT_KIND_EXIT, pid_tgid, NULL, 0);
	return 0;
}
