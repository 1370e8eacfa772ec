/** @module The agent's public surface: `startAgent` (used by `weft up` and `weft agent`). */
export { startAgent, type AgentStartOptions, type RunningAgent, type SpanSink } from './start-agent.js';
export { ebpfAvailability } from './ebpf/native.js';
