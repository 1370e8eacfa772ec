/**
 * The agent leaves nothing behind on an interface (issue 9, B5). On Linux 6.1 there is no tcx
 * link that dies with the process, so: a ledger of what was attached, a watchdog that removes a
 * killed agent's filters, cleanup at the next start, and only the clsact qdisc Weft created goes.
 *
 * Each case uses a veth interface of its own and a state directory of its own, so agents of
 * other tests on this machine are never touched. Needs root and BTF (fails in CI without).
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupDeadAgents, hasClsact, weftFilterProgIds } from '../../src/agent/capture/tc-leftovers.js';
import { ebpfUnavailable } from './traced-topology.js';
import { REPO_ROOT } from '../e2e/cli-process.js';

const unavailable = ebpfUnavailable('tc leftovers test');
const CHILD = join(REPO_ROOT, 'test', 'agent', 'testdata', 'tc-capture-child.ts');
const links: string[] = [];
const dirs: string[] = [];
const children: ChildProcess[] = [];

function ownInterface(): string {
  // A veth pair (no dummy driver on this kernel); deleting one end deletes both.
  const name = `wfl${process.pid % 10000}${links.length}`;
  execFileSync('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]);
  execFileSync('ip', ['link', 'set', name, 'up']);
  links.push(name);
  return name;
}

function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'weft-tc-state-'));
  dirs.push(d);
  return d;
}

/** Starts a capturing agent process; resolves once its filters are attached. */
function startAgent(ifname: string, dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ifname], { cwd: REPO_ROOT, env: { ...process.env, WEFT_TC_STATE_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('"ready":true')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`agent exited (${code}) before attaching: ${err}`)));
  });
}

function progExists(id: number): boolean {
  try {
    execFileSync('bpftool', ['prog', 'show', 'id', String(id)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function tcFilters(ifname: string): string {
  return execFileSync('tc', ['filter', 'show', 'dev', ifname, 'ingress'], { encoding: 'utf8' }) + execFileSync('tc', ['filter', 'show', 'dev', ifname, 'egress'], { encoding: 'utf8' });
}

async function until(cond: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - t0;
}

function watchdogPids(agentPid: number): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(String(agentPid)) && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('tc-watchdog');
      } catch {
        return false;
      }
    })
    .map(Number);
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const l of links) execFileSync('ip', ['link', 'del', l], { stdio: 'ignore' });
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(unavailable !== null)('tc leftovers after kill -9', () => {
  it('the watchdog removes a killed agent\'s filters, programs and the qdisc it created within 2 s', async () => {
    const ifname = ownInterface();
    const dir = stateDir();
    const agent = await startAgent(ifname, dir);
    const ids = [...weftFilterProgIds(ifname, 'ingress'), ...weftFilterProgIds(ifname, 'egress')];
    expect(ids).toHaveLength(2);
    expect(hasClsact(ifname)).toBe(true);
    expect(ids.every(progExists)).toBe(true);
    // An agent runs for long; its watchdog is up by the time it could be killed.
    await until(() => existsSync(join(dir, `agent-${agent.pid}.watchdog`)), 20_000);
    agent.kill('SIGKILL');
    const took = await until(() => tcFilters(ifname).trim() === '' && !hasClsact(ifname) && !ids.some(progExists), 2000);
    expect(took).toBeLessThan(2000);
    expect(readdirSync(dir)).toStrictEqual([]);
  }, 30_000);

  it('with the watchdog killed too, the next agent start removes them; its clean stop leaves nothing', async () => {
    const ifname = ownInterface();
    const dir = stateDir();
    const first = await startAgent(ifname, dir);
    const firstIds = weftFilterProgIds(ifname, 'egress');
    for (const pid of watchdogPids(first.pid as number)) process.kill(pid, 'SIGKILL');
    first.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    expect(weftFilterProgIds(ifname, 'egress')).toStrictEqual(firstIds); // still there: nobody cleaned
    const second = await startAgent(ifname, dir);
    expect(firstIds.some(progExists)).toBe(false); // the first agent's programs are gone
    const secondIds = weftFilterProgIds(ifname, 'egress');
    expect(secondIds).toHaveLength(1);
    expect(secondIds).not.toStrictEqual(firstIds);
    second.kill('SIGTERM');
    await until(() => second.exitCode !== null, 10_000);
    expect(tcFilters(ifname).trim()).toBe('');
    expect(hasClsact(ifname)).toBe(false); // created by Weft (the second start re-created it), removed
  }, 60_000);

  it('a clean stop leaves the qdisc it created when another tool has put a filter on it since', async () => {
    const ifname = ownInterface();
    const dir = stateDir();
    const agent = await startAgent(ifname, dir);
    // Another tool's filter (classic BPF, cls_bpf) on the qdisc Weft created.
    execFileSync('tc', ['filter', 'add', 'dev', ifname, 'ingress', 'pref', '100', 'bpf', 'bytecode', '1,6 0 0 0,']);
    agent.kill('SIGTERM');
    await until(() => agent.exitCode !== null, 10_000);
    expect(weftFilterProgIds(ifname, 'ingress')).toStrictEqual([]);
    expect(weftFilterProgIds(ifname, 'egress')).toStrictEqual([]);
    expect(hasClsact(ifname)).toBe(true);
    expect(tcFilters(ifname)).toContain('pref 100 bpf');
  }, 30_000);

  it("never removes a running agent's filter nor a qdisc Weft did not create", async () => {
    const ifname = ownInterface();
    const dir = stateDir();
    execFileSync('tc', ['qdisc', 'add', 'dev', ifname, 'clsact']); // someone else's qdisc
    const live = await startAgent(ifname, dir);
    const liveIds = weftFilterProgIds(ifname, 'egress');
    // A stale ledger of a dead agent that recorded another program in the same slot.
    writeFileSync(join(dir, 'agent-999999.json'), JSON.stringify({ pid: 999999, startTime: '1', links: [{ ifname, ifindex: 1, netnsPath: null, directions: ['ingress', 'egress'], progIds: [2147483000], qdiscCreated: true }] }));
    const report = cleanupDeadAgents(dir);
    expect(report).toMatchObject({ ledgers: 1, filtersRemoved: 0, qdiscsRemoved: 0 });
    expect(weftFilterProgIds(ifname, 'egress')).toStrictEqual(liveIds);
    live.kill('SIGKILL');
    await until(() => weftFilterProgIds(ifname, 'egress').length === 0 && weftFilterProgIds(ifname, 'ingress').length === 0, 2000);
    expect(hasClsact(ifname)).toBe(true); // not Weft's: it stays
  }, 30_000);
});
