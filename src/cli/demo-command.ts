/** @module `weft demo`: a small traced system (gateway, services, databases) to look at. */
import { Command } from 'commander';
import { notAvailableYet } from './cli-errors.js';

export function demoCommand(): Command {
  return new Command('demo')
    .description('start a demo system (proxy, services, MySQL, Redis, DNS) traced by Weft, and print a trace link')
    .addHelpText(
      'after',
      `
Examples:
  $ sudo weft demo`,
    )
    .action(async () => {
      throw notAvailableYet('demo', 'the demo system lands with the full-stack assembly issue, after the agent (issue 3)');
    });
}
