/**
 * The grapevine command line: one program, one subcommand per file. `main` returns the exit code instead of
 * calling process.exit, so commands can be tested in-process.
 */
import { Command, CommanderError } from 'commander';
import { registerAgentCommand } from './agent-command.js';
import { registerClientCommands } from './client-commands.js';
import { registerDemoCommand } from './demo-command.js';
import { registerKeygenCommand } from './keygen-command.js';
import { registerSimCommand } from './sim-command.js';

export function buildProgram(): Command {
  const program = new Command('grapevine')
    .description(
      'Gossip-based cluster membership, failure detection and state, with a deterministic simulator',
    )
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerAgentCommand(program);
  registerClientCommands(program);
  registerKeygenCommand(program);
  registerSimCommand(program);
  registerDemoCommand(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
}
