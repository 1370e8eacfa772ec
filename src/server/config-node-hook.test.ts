import { describe, expect, it } from 'vitest';
import { loadAgentClientConfig, loadConfig } from './config.js';

describe('the Node.js hook opt-out (weft up / weft agent)', () => {
  it('is on by default, off with --no-node-hook (commander: nodeHook false) or WEFT_NODE_HOOK=0', () => {
    const on = loadConfig({}, {});
    expect(on.ok && on.config.nodeHook).toBe(true);
    const flag = loadConfig({ nodeHook: false }, {});
    expect(flag.ok && flag.config.nodeHook).toBe(false);
    for (const v of ['0', 'false', 'no', 'off']) {
      const env = loadConfig({}, { WEFT_NODE_HOOK: v });
      expect(env.ok && env.config.nodeHook, v).toBe(false);
    }
    const agentOff = loadAgentClientConfig({ nodeHook: false }, {});
    expect(agentOff.ok && agentOff.config.nodeHook).toBe(false);
    const agentEnv = loadAgentClientConfig({}, { WEFT_NODE_HOOK: '0' });
    expect(agentEnv.ok && agentEnv.config.nodeHook).toBe(false);
    const agentOn = loadAgentClientConfig({}, {});
    expect(agentOn.ok && agentOn.config.nodeHook).toBe(true);
  });

  it('names the variable and the value when WEFT_NODE_HOOK is neither on nor off', () => {
    const bad = loadConfig({}, { WEFT_NODE_HOOK: 'maybe' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems.join('\n')).toContain("WEFT_NODE_HOOK must be 1|true|yes|on|0|false|no|off (actual: 'maybe')");
  });
});
