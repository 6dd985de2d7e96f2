#!/usr/bin/env node
/** The one Skybus executable: run any role or all of them, plus admin and user commands. */
import { usageCommands } from './usage-commands.js';
import { hideBin } from 'yargs/helpers';
import yargs from 'yargs';
import { isSkybusError } from '../errors/registry.js';
import { credentialCommands } from './credential-commands.js';
import { keyCommands } from './key-commands.js';
import { imageCommands } from './image-commands.js';
import { machineCommands } from './machine-commands.js';
import { networkCommands } from './network-commands.js';
import { volumeCommands } from './volume-commands.js';
import { adminCommands } from './admin-commands.js';
import { hostCommands } from './host-commands.js';
import { auditCommands } from './audit-commands.js';
import { roleCommands } from './role-commands.js';

async function main(): Promise<void> {
  let cli = yargs(hideBin(process.argv))
    .scriptName('skybus')
    .usage('$0 <command> [options]')
    .strict()
    .demandCommand(1, 'name a command (try --help)')
    .recommendCommands()
    .fail((msg, err) => {
      if (err) throw err;
      throw Object.assign(new Error(msg), { usage: true });
    });
  cli = roleCommands(cli);
  cli = adminCommands(cli);
  cli = hostCommands(cli);
  cli = auditCommands(cli);
  cli = machineCommands(cli);
  cli = imageCommands(cli);
  cli = volumeCommands(cli);
  cli = keyCommands(cli);
  cli = credentialCommands(cli);
  cli = networkCommands(cli);
  cli = usageCommands(cli);
  await cli.help().version(false).parseAsync();
}

main().catch((e: unknown) => {
  const err = e as Error & { usage?: boolean };
  if (isSkybusError(e)) process.stderr.write(`skybus: ${e.message}\n`);
  else if (err.usage) process.stderr.write(`skybus: ${err.message}\nRun 'skybus --help' for usage.\n`);
  else process.stderr.write(`skybus: unexpected error: ${err?.message ?? String(e)}\n`);
  if (process.env.SKYBUS_DEBUG && err?.stack) process.stderr.write(err.stack + '\n');
  process.exit(err.usage ? 2 : 1);
});
