/* @module tc (clsact) programs: frames on the interfaces the agent was given, for NET spans.
 * Included by weft.bpf.c (shares its ring buffer, counters and load-time settings); kept in a file
 * of its own so the packet path and the syscall programs change independently. */
#ifndef WEFT_TC_BPF_H
#define WEFT_TC_BPF_H

#define TC_ACT_OK 0
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define VXLAN_PORT 4789
#define VXLAN_PORT_LINUX 8472
/* Headers room on top of the payload prefix: Ethernet + IPv6 + TCP with options. */
#define PACKET_HEADROOM 128

/* A frame's bytes are staged per CPU, as a syscall's are. tc programs run in process context
 * (egress from a send) and in softirq (ingress, and egress of ACKs and retransmits), and softirq
 * can interrupt process context on the same CPU, so a busy flag keeps an interrupted copy intact:
 * the interrupting frame is counted as dropped instead. */
struct packet_scratch {
	__u32 busy;
	__u32 pad;
	struct weft_event ev;
	__u8 data[WEFT_MAX_PAYLOAD * 3];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct packet_scratch);
} packet_scratch_map SEC(".maps");

/* What a frame's headers say about copying it. */
#define FRAME_COPY 0    /* a segment with payload, a handshake/teardown, or not understood */
#define FRAME_BARE_ACK 1 /* TCP, no payload, no SYN/FIN/RST, open window: nothing user space uses */
#define FRAME_INNER 2   /* VXLAN: judge the inner Ethernet frame at *inner */

/* Judges the Ethernet frame at `off` (one 802.1Q/802.1ad tag allowed). Conservative: anything it
 * does not fully understand (IP options are fine; IPv6 extension headers, fragments, other
 * tunnels, a frame cut short) is copied, so user space sees what it always saw. */
static __always_inline int judge_frame(struct __sk_buff *skb, __u32 off, __u32 *inner)
{
	__u16 proto;
	if (bpf_skb_load_bytes(skb, off + 12, &proto, 2))
		return FRAME_COPY;
	off += 14;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		if (bpf_skb_load_bytes(skb, off + 2, &proto, 2))
			return FRAME_COPY;
		off += 4;
	}
	__u8 l4;
	__u32 l4_off, l3_payload;
	if (proto == bpf_htons(ETH_P_IP)) {
		__u8 ip[20];
		if (bpf_skb_load_bytes(skb, off, ip, sizeof(ip)))
			return FRAME_COPY;
		__u32 ihl = (ip[0] & 0x0f) * 4;
		__u32 total = ((__u32)ip[2] << 8) | ip[3];
		/* More fragments, or a fragment offset: not a whole segment. */
		if ((ip[0] >> 4) != 4 || ihl < 20 || (ip[6] & 0x3f) || ip[7] || total < ihl)
			return FRAME_COPY;
		l4 = ip[9];
		l4_off = off + ihl;
		l3_payload = total - ihl;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		__u8 ip6[8];
		if (bpf_skb_load_bytes(skb, off, ip6, sizeof(ip6)))
			return FRAME_COPY;
		if ((ip6[0] >> 4) != 6)
			return FRAME_COPY;
		l4 = ip6[6];
		l4_off = off + 40;
		l3_payload = ((__u32)ip6[4] << 8) | ip6[5];
	} else {
		return FRAME_COPY;
	}
	if (l4 == IPPROTO_UDP) {
		__u16 dport;
		if (bpf_skb_load_bytes(skb, l4_off + 2, &dport, 2))
			return FRAME_COPY;
		if (dport != bpf_htons(VXLAN_PORT) && dport != bpf_htons(VXLAN_PORT_LINUX))
			return FRAME_COPY;
		*inner = l4_off + 8 + 8; /* UDP header, VXLAN header */
		return FRAME_INNER;
	}
	if (l4 != IPPROTO_TCP)
		return FRAME_COPY;
	__u8 tcp[16];
	if (bpf_skb_load_bytes(skb, l4_off, tcp, sizeof(tcp)))
		return FRAME_COPY;
	__u32 doff = (tcp[12] >> 4) * 4;
	if (doff < 20 || l3_payload < doff || l3_payload != doff)
		return FRAME_COPY;
	if (tcp[13] & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST))
		return FRAME_COPY; /* NAT learning reads handshakes; resets are marked on hops */
	if (tcp[14] == 0 && tcp[15] == 0)
		return FRAME_COPY; /* a zero window is marked on its hop */
	return FRAME_BARE_ACK;
}

/* A bare ACK (no payload, no SYN/FIN/RST, window open) is about half the frames of a
 * request/response exchange and carries nothing user space uses (it stopped right after decoding
 * them), so it never reaches the ring. Only Ethernet frames whose ethertype matches the skb's
 * protocol are judged (an L3 device's frames start at the IP header: copied as before); VXLAN
 * (4789, 8472) is looked into once, as user space decapsulates it. */
static __always_inline int bare_ack(struct __sk_buff *skb)
{
	__u16 proto;
	if (bpf_skb_load_bytes(skb, 12, &proto, 2) || proto != skb->protocol)
		return 0;
	__u32 inner = 0;
	int verdict = judge_frame(skb, 0, &inner);
	if (verdict == FRAME_INNER)
		verdict = judge_frame(skb, inner, &inner);
	return verdict == FRAME_BARE_ACK;
}

static __always_inline int on_packet(struct __sk_buff *skb, __u8 dir)
{
	if (!tracing_enabled)
		return TC_ACT_OK;
	if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6))
		return TC_ACT_OK;
	if (bare_ack(skb))
		return TC_ACT_OK;
	__u32 zero = 0;
	struct packet_scratch *s = bpf_map_lookup_elem(&packet_scratch_map, &zero);
	if (!s)
		return TC_ACT_OK;
	if (s->busy) {
		count(1);
		return TC_ACT_OK;
	}
	s->busy = 1;
	__u32 want = skb->len;
	__u32 cap = payload_cap + PACKET_HEADROOM;
	if (cap > WEFT_MAX_PAYLOAD)
		cap = WEFT_MAX_PAYLOAD;
	if (want > cap)
		want = cap;
	if (want == 0) {
		s->busy = 0;
		return TC_ACT_OK;
	}
	/* In [1, WEFT_MAX_PAYLOAD] by construction, in a form the verifier can follow (a plain
	 * "len == 0" test gets folded away by clang before the call). */
	__u32 len = ((want - 1) & (WEFT_MAX_PAYLOAD - 1)) + 1;
	if (bpf_skb_load_bytes(skb, 0, s->data, len)) {
		s->busy = 0;
		return TC_ACT_OK;
	}
	struct weft_event *ev = &s->ev;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->kind = WEFT_KIND_PACKET;
	ev->direction = dir;
	ev->enter_ns = ev->exit_ns = bpf_ktime_get_ns();
	ev->socket_id = skb->ifindex;
	ev->bytes = skb->len;
	ev->payload_len = len;
	if (bpf_ringbuf_output(&events, ev, sizeof(*ev) + len, BPF_RB_NO_WAKEUP))
		count(1);
	else
		count(0);
	s->busy = 0;
	return TC_ACT_OK;
}

SEC("tc")
int tc_ingress(struct __sk_buff *skb) { return on_packet(skb, WEFT_DIR_INGRESS); }
SEC("tc")
int tc_egress(struct __sk_buff *skb) { return on_packet(skb, WEFT_DIR_EGRESS); }

#endif
