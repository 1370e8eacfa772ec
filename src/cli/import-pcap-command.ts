/** @module `weft import-pcap FILE`: turn a packet capture into NET spans in the store. */
import { Command } from 'commander';
import { notAvailableYet } from './cli-errors.js';

export function importPcapCommand(): Command {
  return new Command('import-pcap')
    .description('parse a pcap/pcapng file into NET spans (HTTP, DNS, MySQL, PostgreSQL, Redis) and store them')
    .argument('<file>', 'capture file (pcap or pcapng)')
    .option('--data <dir>', 'data directory of the store to import into (default: ./weft-data)')
    .addHelpText(
      'after',
      `
Examples:
  $ weft import-pcap capture.pcap
  $ tcpdump -i eth0 -w - port 80 | weft import-pcap /dev/stdin`,
    )
    .action(async () => {
      throw notAvailableYet('import-pcap', 'the pcap importer is not built yet (it needs the L7 parsers of issue 3, the eBPF agent)');
    });
}
