/**
 * @module Adds the server options (one table in server/config.ts) to a commander command, so
 * `up` and `server` share flags, help text and environment names.
 */
import { Option } from 'commander';
import type { Command } from 'commander';
import { SERVER_OPTIONS } from '../server/config.js';
import type { RawOptionKey } from '../server/config.js';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function addServerOptions(cmd: Command, skip: readonly RawOptionKey[] = []): Command {
  for (const spec of SERVER_OPTIONS) {
    if (skip.includes(spec.key)) continue;
    const env = spec.env ? `; env ${spec.env}` : '';
    const opt = new Option(spec.flag, `${spec.description} (default: ${spec.defaultText}${env})`);
    if (spec.repeatable) opt.argParser(collect);
    cmd.addOption(opt);
  }
  return cmd;
}
