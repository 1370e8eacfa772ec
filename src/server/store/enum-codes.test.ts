/**
 * @module The enum codes both stores persist by position (DuckDB and ClickHouse store a span's
 * kind, observation point, response status, … as the index in these lists). Reordering a list,
 * or inserting in the middle, silently changes the meaning of every stored row; this snapshot
 * fails first. New values go at the end, and then this snapshot gains them at the end too.
 */
import { describe, expect, it } from 'vitest';
import { OBSERVATION_POINTS, RESPONSE_STATUSES, SPAN_KINDS } from '../../model/index.js';
import { KINDS, ORIGINS, POINTS, RESPONSES, SOURCES, STATUS_CODES, TRANSPORTS } from './duckdb/span-rows.js';

/** Code → value, as stored today. Append only. */
const PERSISTED: Record<string, readonly string[]> = {
  statusCode: ['unset', 'ok', 'error'],
  source: ['app', 'sys', 'net'],
  origin: ['otlp', 'skywalking', 'zipkin', 'apm-api', 'ebpf', 'packet', 'pcap'],
  transport: ['', 'tcp', 'udp'],
  kind: ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'],
  observationPoint: ['c-app', 's-app', 'app', 'c-p', 's-p', 'c', 's', 'c-nd', 's-nd', 'c-gw', 's-gw', 'local', 'rest'],
  responseStatus: ['ok', 'client_error', 'server_error', 'timeout', 'unknown', 'parse_failed'],
};

describe('persisted enum codes', () => {
  const current: Record<string, readonly string[]> = {
    statusCode: STATUS_CODES,
    source: SOURCES,
    origin: ORIGINS,
    transport: TRANSPORTS,
    kind: KINDS,
    observationPoint: POINTS,
    responseStatus: RESPONSES,
  };

  it.each(Object.keys(PERSISTED))('%s keeps every stored code and only appends', (name) => {
    const stored = PERSISTED[name]!;
    const now = current[name]!;
    expect(now.slice(0, stored.length), `${name}: a stored code changed meaning; append new values at the end`).toEqual(stored);
    expect(new Set(now).size, `${name}: duplicate values`).toBe(now.length);
  });

  it('the stores use the model\'s lists, not copies', () => {
    expect(KINDS).toBe(SPAN_KINDS);
    expect(POINTS).toBe(OBSERVATION_POINTS);
    expect(RESPONSES).toBe(RESPONSE_STATUSES);
  });
});
