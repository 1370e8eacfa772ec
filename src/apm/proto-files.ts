/**
 * @module Where the vendored official .proto files live, and one protobufjs Root over them.
 *
 * The files sit in `proto/` at the package root (see proto/PROVENANCE.md). This module is the
 * only place that knows that path, so the code works from `src/` (tests, tsx) and from `dist/`.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

function findProtoDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'PROVENANCE.md'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('vendored proto/ directory not found above ' + fileURLToPath(import.meta.url));
}

/** Absolute path of the vendored proto directory (include path for imports). */
export const PROTO_DIR = findProtoDir();

export const OTLP_TRACE_SERVICE_PROTO = 'opentelemetry/proto/collector/trace/v1/trace_service.proto';
export const SKYWALKING_TRACING_PROTO = 'skywalking/language-agent/Tracing.proto';

let root: protobuf.Root | undefined;

/** One Root with the OTLP trace service and SkyWalking tracing definitions, loaded once. */
export function protoRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  // SkyWalking's files import each other relative to their own repository root.
  r.resolvePath = (_origin, target) => {
    if (target.startsWith('/')) return target;
    const direct = join(PROTO_DIR, target);
    return existsSync(direct) ? direct : join(PROTO_DIR, 'skywalking', target);
  };
  r.loadSync([OTLP_TRACE_SERVICE_PROTO, SKYWALKING_TRACING_PROTO]);
  r.resolveAll();
  root = r;
  return r;
}
