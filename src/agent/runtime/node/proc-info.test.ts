import { describe, expect, it } from 'vitest';
import { inspectorFlagOf, isNodeExecutable, listeningSockets } from './proc-info.js';
import { isWeftCommand } from './target-policy.js';

describe('proc info', () => {
  it('finds the inspector a process was started with, in its own options or NODE_OPTIONS, not in its script arguments', () => {
    expect(inspectorFlagOf(['node', 'server.js'], null)).toBeNull();
    expect(inspectorFlagOf(['node', '--inspect', 'server.js'], null)).toEqual({ host: '127.0.0.1', port: 9229 });
    expect(inspectorFlagOf(['node', '--inspect=0.0.0.0:9333', 'server.js'], null)).toEqual({ host: '0.0.0.0', port: 9333 });
    expect(inspectorFlagOf(['node', '--inspect-brk=9444', 'server.js'], null)).toEqual({ host: '127.0.0.1', port: 9444 });
    expect(inspectorFlagOf(['node', '--inspect=127.0.0.1:0', 'server.js'], null)).toEqual({ host: '127.0.0.1', port: null });
    expect(inspectorFlagOf(['node', 'server.js', '--inspect'], null)).toBeNull();
    expect(inspectorFlagOf(['node', 'server.js'], '--max-old-space-size=100 --inspect=9555')).toEqual({ host: '127.0.0.1', port: 9555 });
    expect(inspectorFlagOf(['node', '--inspect', '--inspect-port=9666', 'server.js'], null)).toEqual({ host: '127.0.0.1', port: 9666 });
    expect(inspectorFlagOf(['node', '--inspect-port=9666', 'server.js'], null)).toBeNull();
  });

  it('reads LISTEN sockets from /proc/net/tcp and tcp6 (little-endian words), skipping other states', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:2405 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:2405 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1',
    ].join('\n');
    expect(listeningSockets(tcp)).toEqual([{ ip: '127.0.0.1', port: 9221, inode: '4242' }]);
    const tcp6 = [
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0',
    ].join('\n');
    expect(listeningSockets(tcp6)).toEqual([{ ip: '0:0:0:0:0:0:0:1', port: 8080, inode: '777' }]);
  });

  it('knows Node.js executables and Weft commands by name', () => {
    for (const exe of ['/usr/bin/node', '/usr/bin/nodejs', '/opt/node20', '/x/node-20.11', '/usr/bin/node (deleted)']) expect(isNodeExecutable(exe), exe).toBe(true);
    for (const exe of ['/usr/bin/nodemon', '/usr/sbin/nginx', '/usr/bin/deno']) expect(isNodeExecutable(exe), exe).toBe(false);
    expect(isWeftCommand(['node', '/opt/weft/bin/weft.js', 'up'])).toBe(true);
    expect(isWeftCommand(['node', '/usr/local/bin/weft', 'agent'])).toBe(true);
    expect(isWeftCommand(['node', 'server.js'])).toBe(false);
    expect(isWeftCommand(['node', '/opt/weft/dist/cli/main.js', 'server'])).toBe(true);
    // A service inside a checkout named weft is not Weft.
    expect(isWeftCommand(['node', '/ci/weft/src/demo/correctness/node-middle.mjs'])).toBe(false);
  });
});
