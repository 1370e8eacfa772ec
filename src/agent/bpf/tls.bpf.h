/* @module TLS plaintext: uprobes on OpenSSL's SSL_read/SSL_write(_ex), in libssl.so.3 and in
 * binaries that carry their own OpenSSL (node). Included by weft.bpf.c (its maps and helpers).
 *
 * The plaintext is tied to its socket in one of two ways:
 * - socket BIO (curl, nginx, python): OpenSSL reads or writes the socket inside the SSL call, so
 *   the first data syscall of the thread during the call names the fd, and its seq is where the
 *   TLS record starts on the wire; that syscall's ciphertext is not emitted (it would be an
 *   unparseable duplicate of the plaintext). The SSL* -> socket pair is remembered for calls
 *   that need no syscall (plaintext already decrypted and buffered).
 * - memory BIO (node's TLSWrap): no syscall happens inside the call. A read's ciphertext was
 *   read by the same thread just before (the event loop feeds it to SSL_read in the read
 *   callback), so the thread's last socket read names it; a write's ciphertext leaves with the
 *   thread's next socket write, so the plaintext waits for that write and takes its socket.
 * Plaintext records carry WEFT_FLAG_TLS and the socket's id; the decoder gives them a stream id
 * of their own, so the sessions parse them apart from the ciphertext of the same socket. */

struct ssl_call {
	__u64 ssl; /* key of the SSL object (tls_enter) */
	__u64 buf;
	__u64 len_ptr; /* _ex: where the byte count is written */
	__u64 sock;
	__u64 enter_ns;
	__u32 tcp_seq;
	__u8 dir;
	__u8 ex;
	__u8 has_sock;
	__u8 seq_valid;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid */
	__type(value, struct ssl_call);
} ssl_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);   /* SSL object key (ssl_call.ssl) */
	__type(value, __u64); /* struct sock *, | MEMORY_BIO_BIT when learnt from a memory BIO's reads */
} ssl_socks SEC(".maps");
/* struct sock is aligned, so its lowest address bit is free to say how the pair was learnt. */
#define MEMORY_BIO_BIT 1ULL

/* SSL objects whose plaintext is HTTP/2 (h2 by ALPN): walked frame by frame (or copied up to
 * h2_payload_cap), where each direction stands in its frames. Keyed by the SSL object, not the
 * socket: the socket's ciphertext (read by node before SSL_read) stays at the short prefix. */
struct ssl_h2 {
	__u64 sock; /* struct sock * the walk state was learnt on (0: not known) */
	struct h2_walk walk[2]; /* by direction - 1 */
};

static const char H2_PREFACE_START[8] = "PRI * HT";

/* Whether an SSL call's plaintext starts with the client preface (one 8-byte read). */
static __always_inline int tls_preface_at(__u64 buf, __u64 n)
{
	char p[8];
	if (n < sizeof(p) || bpf_probe_read_user(p, sizeof(p), (void *)buf))
		return 0;
	for (int i = 0; i < sizeof(p); i++)
		if (p[i] != H2_PREFACE_START[i])
			return 0;
	return 1;
}

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);  /* SSL * */
	__type(value, struct ssl_h2);
} ssl_http2 SEC(".maps");

/* Threads that made an SSL call: only their syscalls are looked at for memory-BIO pairing. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid */
	__type(value, __u8);
} tls_threads SEC(".maps");

struct last_read {
	__u64 sock;
	__u32 tcp_seq;
	__u32 seq_valid;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid */
	__type(value, struct last_read);
} thread_last_read SEC(".maps");

/* A memory-BIO write's plaintext record, waiting for the thread's next socket write. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__type(key, __u32); /* tid */
	__type(value, struct scratch);
} tls_pending SEC(".maps");

static __always_inline __u32 tls_seq_of(struct sock *sk, __u8 dir, __u32 *valid)
{
	*valid = 0;
	if (KREAD(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	struct tcp_sock *tp = AS(struct tcp_sock, sk);
	*valid = 1;
	return dir == WEFT_DIR_EGRESS ? KREAD(tp, write_seq) : KREAD(tp, copied_seq);
}

static __always_inline void tls_output(struct scratch *s)
{
	__u64 size = sizeof(struct weft_event) + (s->ev.payload_len & (WEFT_MAX_DATA_PAYLOAD * 2 - 1));
	if (size > sizeof(struct scratch))
		return;
	if (bpf_ringbuf_output(&events, s, size, BPF_RB_NO_WAKEUP))
		count(1);
	else
		count(0);
}

/* The socket side of a plaintext record: tuple, socket id, seq. -1: not to be emitted (the
 * port filter leaves this socket out). */
static __always_inline int tls_bind_sock(struct weft_event *ev, __u64 skp, __u32 seq, __u32 seq_valid)
{
	struct sock *sk = AS(struct sock, skp);
	if (!port_allowed(sk))
		return -1;
	struct sock_state *st = sock_state_of(skp);
	if (!st)
		return -1;
	fill_tuple(ev, sk);
	ev->socket_id = st->id;
	ev->tcp_seq = seq;
	if (seq_valid)
		ev->flags |= WEFT_FLAG_SEQ_VALID;
	return 0;
}

/* Called at every traced data syscall's enter, before the port filter (a filtered socket must
 * still be named as an SSL call's socket, or the call would take another's). Returns 1 when the
 * syscall carries the ciphertext of an SSL call (its bytes are not emitted: the plaintext is). */
static __always_inline int tls_on_syscall(__u32 tid, struct sock *sk, __u8 dir)
{
	__u64 skp = (__u64)sk;
	struct ssl_call *c = bpf_map_lookup_elem(&ssl_calls, &tid);
	if (c) {
		if (!c->has_sock) {
			__u32 valid = 0;
			c->tcp_seq = tls_seq_of(sk, dir, &valid);
			c->seq_valid = valid;
			c->sock = skp;
			c->has_sock = 1;
			bpf_map_update_elem(&ssl_socks, &c->ssl, &skp, BPF_ANY);
		}
		return 1;
	}
	if (!bpf_map_lookup_elem(&tls_threads, &tid))
		return 0;
	if (dir == WEFT_DIR_INGRESS) {
		struct last_read lr = {.sock = skp};
		lr.tcp_seq = tls_seq_of(sk, dir, &lr.seq_valid);
		bpf_map_update_elem(&thread_last_read, &tid, &lr, BPF_ANY);
		return 0;
	}
	struct scratch *p = bpf_map_lookup_elem(&tls_pending, &tid);
	if (!p)
		return 0;
	__u32 valid = 0;
	__u32 seq = tls_seq_of(sk, dir, &valid);
	if (tls_bind_sock(&p->ev, skp, seq, valid) == 0)
		tls_output(p);
	bpf_map_delete_elem(&tls_pending, &tid);
	return 1;
}

static __always_inline int tls_enter(void *ssl, __u64 buf, __u64 len_ptr, __u8 dir, __u8 ex)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!pid_traced(pid_tgid >> 32))
		return 0;
	__u32 tid = (__u32)pid_tgid;
	struct ssl_call c = {};
	/* The SSL object's key in ssl_socks and ssl_http2: its address with the pid above the
	 * user address bits, so objects of two processes at the same address stay apart. */
	c.ssl = (__u64)ssl ^ ((pid_tgid >> 32) << 47);
	c.buf = buf;
	c.len_ptr = len_ptr;
	c.dir = dir;
	c.ex = ex;
	c.enter_ns = bpf_ktime_get_ns();
	/* BPF_NOEXIST: an SSL call made inside another (SSL_read_ex from SSL_read) keeps the outer. */
	bpf_map_update_elem(&ssl_calls, &tid, &c, BPF_NOEXIST);
	__u8 one = 1;
	if (!bpf_map_lookup_elem(&tls_threads, &tid))
		bpf_map_update_elem(&tls_threads, &tid, &one, BPF_ANY);
	return 0;
}

static __always_inline int tls_exit(long ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct ssl_call *cp = bpf_map_lookup_elem(&ssl_calls, &tid);
	if (!cp)
		return 0;
	struct ssl_call c = *cp;
	bpf_map_delete_elem(&ssl_calls, &tid);
	__u64 n = 0;
	if (c.ex) {
		if (ret != 1)
			return 0;
		bpf_probe_read_user(&n, sizeof(n), (void *)c.len_ptr);
	} else {
		if (ret <= 0)
			return 0;
		n = ret;
	}
	if (n == 0)
		return 0;
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	struct weft_event *ev = &s->ev;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->kind = WEFT_KIND_DATA;
	ev->direction = c.dir;
	ev->syscall = WEFT_SYS_SSL;
	ev->flags = WEFT_FLAG_TLS;
	ev->pid = pid_tgid >> 32;
	ev->tid = tid;
	ev->enter_ns = c.enter_ns;
	ev->exit_ns = bpf_ktime_get_ns();
	ev->bytes = n;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	/* The socket first: the walk state below belongs to one connection. */
	__u64 skp = c.has_sock ? c.sock : 0;
	__u32 seq = c.tcp_seq, seq_valid = c.seq_valid;
	int memory_bio = 0;
	if (!skp) {
		__u64 *known = bpf_map_lookup_elem(&ssl_socks, &c.ssl);
		if (known) {
			skp = *known & ~MEMORY_BIO_BIT;
			memory_bio = (*known & MEMORY_BIO_BIT) != 0;
		}
		seq_valid = 0;
	}
	if (c.dir == WEFT_DIR_INGRESS) {
		/* Memory BIO: the thread's last socket read gives the socket and the seq where its
		 * first record starts, and is remembered for the SSL object. One socket read often
		 * carries several records, each taken by an SSL_read of its own: the first takes the
		 * read, the others the SSL object's socket alone (their records' offsets in the read
		 * are not known, so no seq). A socket BIO's SSL object keeps the socket its own
		 * syscalls named (the thread's last read may be another socket's). */
		struct last_read *lr = NULL;
		if (!c.has_sock && (!skp || memory_bio))
			lr = bpf_map_lookup_elem(&thread_last_read, &tid);
		if (lr) {
			skp = lr->sock;
			seq = lr->tcp_seq;
			seq_valid = lr->seq_valid;
			__u64 v = skp | MEMORY_BIO_BIT;
			bpf_map_update_elem(&ssl_socks, &c.ssl, &v, BPF_ANY);
			bpf_map_delete_elem(&thread_last_read, &tid);
		}
	}

	struct ssl_h2 *h2 = bpf_map_lookup_elem(&ssl_http2, &c.ssl);
	/* A freed SSL object's address is soon another connection's (nginx): a walk state learnt on
	 * another socket, or a call that starts with the preface, starts the walk over. */
	if (h2 && ((skp && h2->sock != skp) || tls_preface_at(c.buf, n))) {
		__builtin_memset(h2->walk, 0, sizeof(h2->walk));
		h2->sock = skp;
	}
	copy_from_buffer(&s->cs, c.buf, n, h2 ? h2_payload_cap : payload_cap);
	/* SSL_read/SSL_write hand over whole plaintext messages less often than syscalls do, so any
	 * call may start HTTP/2 (the preface, or frames of a connection older than the agent). */
	__u8 marked = h2 != NULL;
	/* Not HTTP/2 yet: the walk state starts here and is kept only if the call shows a frame. */
	struct ssl_h2 fresh = {.sock = skp};
	struct ssl_h2 *st = h2 ? h2 : &fresh;
	__u32 len = copy_or_walk(s, &st->walk[(c.dir - 1) & 1], 1, &marked);
	if (marked && !h2)
		bpf_map_update_elem(&ssl_http2, &c.ssl, &fresh, BPF_ANY);
	ev->payload_len = len;

	if (c.dir == WEFT_DIR_EGRESS && !c.has_sock) {
		/* Memory BIO: the ciphertext leaves with this thread's next socket write. */
		bpf_map_update_elem(&tls_pending, &tid, s, BPF_ANY);
		return 0;
	}
	if (!skp)
		return 0;
	if (tls_bind_sock(ev, skp, seq, seq_valid) == 0)
		tls_output(s);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_enter, void *ssl, const void *buf, int num)
{
	return tls_enter(ssl, (__u64)buf, 0, WEFT_DIR_EGRESS, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_exit, int ret)
{
	return tls_exit(ret);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_enter, void *ssl, void *buf, int num)
{
	return tls_enter(ssl, (__u64)buf, 0, WEFT_DIR_INGRESS, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_exit, int ret)
{
	return tls_exit(ret);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_ex_enter, void *ssl, const void *buf, __u64 num, __u64 *written)
{
	return tls_enter(ssl, (__u64)buf, (__u64)written, WEFT_DIR_EGRESS, 1);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_ex_exit, int ret)
{
	return tls_exit(ret);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_ex_enter, void *ssl, void *buf, __u64 num, __u64 *readbytes)
{
	return tls_enter(ssl, (__u64)buf, (__u64)readbytes, WEFT_DIR_INGRESS, 1);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_ex_exit, int ret)
{
	return tls_exit(ret);
}

/* A process maps OpenSSL's libssl for execution (the loader at start, or dlopen at any time
 * later, as Python's `import ssl` does): a TLS_LIBRARY record tells the agent to look at the
 * process's maps and hook the file if it is new. Executable file mappings are rare (JITs map
 * anonymous memory), so the name is read only for them. */
#define PROT_EXEC 4
static const char LIBSSL_NAME[] = "libssl.so";

SEC("tracepoint/syscalls/sys_enter_mmap")
int enter_mmap(struct trace_event_raw_sys_enter *ctx)
{
	if (!(ctx->args[2] & PROT_EXEC) || (long)ctx->args[4] < 0)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	if (!pid_traced(pid_tgid >> 32))
		return 0;
	struct file *file = fd_to_file(ctx->args[4]);
	if (!file)
		return 0;
	struct dentry *dentry = KREAD(file, f_path.dentry);
	if (!dentry)
		return 0;
	const unsigned char *name = KREAD(dentry, d_name.name);
	char buf[sizeof(LIBSSL_NAME)] = {};
	if (bpf_probe_read_kernel(buf, sizeof(buf) - 1, name))
		return 0;
	for (int i = 0; i < sizeof(LIBSSL_NAME) - 1; i++)
		if (buf[i] != LIBSSL_NAME[i])
			return 0;
	emit_small(WEFT_KIND_TLS_LIBRARY, pid_tgid, NULL, 0);
	return 0;
}
