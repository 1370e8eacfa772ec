/**
 * A process that loads the eBPF programs without syscall hooks, captures frames on the
 * interfaces named in argv (tc), prints one JSON line (its pid, its watchdog's) and waits to be
 * killed. The tc leftovers test kills it with SIGKILL.
 */
import { createEbpfSource } from '../../../src/agent/ebpf/ebpf-source.js';

const source = createEbpfSource({ syscalls: false });
for (const name of process.argv.slice(2)) source.captureInterface(name);
process.stdout.write(`${JSON.stringify({ pid: process.pid, ready: true })}\n`);
process.on('SIGTERM', () => {
  source.close();
  process.exit(0);
});
setInterval(() => undefined, 1 << 30);
