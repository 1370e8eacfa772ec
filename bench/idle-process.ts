/**
 * @module An idle HTTP server in a process of its own, answering /healthz as Weft does: probed at
 * the same moments as Weft's /healthz, it gives what the host's scheduler alone costs a probe
 * (the floor /healthz cannot go below). Used by the overload bench and the health-under-load test.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export async function startIdleProcess(): Promise<{ child: ChildProcess; url: string }> {
  const code = "require('http').createServer((q,r)=>{r.setHeader('content-type','application/json');r.end(JSON.stringify({status:'ok'}))}).listen(0,'127.0.0.1',function(){console.log(this.address().port)})";
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (c) => reject(new Error(`idle process exited ${c}`)));
  });
  return { child, url: `http://127.0.0.1:${port}/healthz` };
}
