/* @module The one record layout shared by the eBPF programs, the addon and the TS decoder.
 *
 * scripts/gen-events.ts parses THIS file into src/agent/ebpf/events.gen.ts, and a test checks the
 * addon's compiled sizeof/offsetof table against it, so the layout is never kept in sync by hand.
 * Keep the parser's subset: `#define WEFT_<NAME> <integer>` lines and one `struct weft_event`
 * whose fields are __u8/__u16/__u32/__u64/__s64 or arrays of __u8/char, naturally aligned.
 */
#ifndef WEFT_EVENTS_H
#define WEFT_EVENTS_H

/* Record kinds (the first byte of every record). */
#define WEFT_KIND_DATA 1
#define WEFT_KIND_CLOSE 2
#define WEFT_KIND_CONNECT 3
#define WEFT_KIND_ACCEPT 4
#define WEFT_KIND_EXEC 5
#define WEFT_KIND_EXIT 6
/* A frame seen by tc on an interface (NET spans): socket_id holds the ifindex, the payload the frame. */
#define WEFT_KIND_PACKET 7
/* A process mapped OpenSSL's libssl for execution (pid, comm only): hook it if it is new. */
#define WEFT_KIND_TLS_LIBRARY 8

/* Direction of a data record. */
#define WEFT_DIR_INGRESS 1
#define WEFT_DIR_EGRESS 2

/* flags */
#define WEFT_FLAG_MSG_START 1
#define WEFT_FLAG_IPV6 2
#define WEFT_FLAG_UDP 4
#define WEFT_FLAG_SEQ_VALID 8
/* Plaintext of a TLS connection, from the SSL_read/SSL_write uprobes. */
#define WEFT_FLAG_TLS 16
/* An HTTP/2 connection's bytes read frame by frame (weft.bpf.c, h2 walk): the payload holds the
 * bytes kept, then a gap table of the bytes left out, then the table's entry count:
 *   [kept bytes: D][n x {__u32 at; __u32 len}][__u32 n]   (little-endian, payload_len = D + 8n + 4)
 * Gap i is len bytes of the syscall left out right before kept byte `at` (ascending, at <= D).
 * Bytes of the syscall past the kept bytes and the gaps were not captured at all. */
#define WEFT_FLAG_H2_WALK 32

/* Which syscall produced a data record. */
#define WEFT_SYS_READ 1
#define WEFT_SYS_READV 2
#define WEFT_SYS_RECVFROM 3
#define WEFT_SYS_RECVMSG 4
#define WEFT_SYS_RECVMMSG 5
#define WEFT_SYS_WRITE 6
#define WEFT_SYS_WRITEV 7
#define WEFT_SYS_SENDTO 8
#define WEFT_SYS_SENDMSG 9
#define WEFT_SYS_SENDMMSG 10
/* SSL_read/SSL_write(_ex): TLS plaintext (uprobes). */
#define WEFT_SYS_SSL 11

/* Hard upper bound of the payload prefix; the load-time setting is at most this. */
#define WEFT_MAX_PAYLOAD 4096
/* Hard upper bound of one data record's payload: an HTTP/2 connection (many streams' frames in
 * one syscall) is captured up to a second, larger load-time setting, at most this. */
#define WEFT_MAX_DATA_PAYLOAD 16384
#define WEFT_DEFAULT_HTTP2_PAYLOAD 16384
#define WEFT_DEFAULT_PAYLOAD 1024
/* Most gaps one walked record lists (one per DATA payload left out). */
#define WEFT_H2_MAX_GAPS 128
#define WEFT_COMM_LEN 16

/* Every record is this header followed by payload_len bytes of payload (data records only).
 * The addon packs records into the poll buffer as [u32 length][record], each start 8-aligned. */
struct weft_event {
	__u8 kind;
	__u8 direction;
	__u8 syscall;
	__u8 flags;
	__u16 local_port;  /* host order */
	__u16 remote_port; /* host order */
	__u32 pid;         /* tgid */
	__u32 tid;
	__u64 enter_ns;    /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 exit_ns;
	__u64 socket_id;   /* per-socket counter, unique for this agent run */
	__u64 trace_id;    /* syscall trace id, < 2^53 */
	__s64 bytes;       /* syscall return value: bytes moved */
	__u32 tcp_seq;     /* seq of the first byte (TCP only, see FLAG_SEQ_VALID) */
	__u32 payload_len; /* bytes of payload that follow this header */
	__u8 local_addr[16];  /* IPv4 in the first 4 bytes, network order */
	__u8 remote_addr[16];
	char comm[16];
};

#endif
