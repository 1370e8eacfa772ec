/* @module tc (clsact) programs: frames on the interfaces the agent was given, for NET spans.
 * Included by weft.bpf.c (shares its ring buffer, counters and load-time settings); kept in a file
 * of its own so the packet path and the syscall programs change independently. */
#ifndef WEFT_TC_BPF_H
#define WEFT_TC_BPF_H

#define TC_ACT_OK 0
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
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

static __always_inline int on_packet(struct __sk_buff *skb, __u8 dir)
{
	if (!tracing_enabled)
		return TC_ACT_OK;
	if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6))
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
