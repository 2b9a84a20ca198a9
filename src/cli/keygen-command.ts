/**
 * `grapevine keygen`: prints a new random AES-256 key in base64, for `grapevine agent --key` (or
 * GRAPEVINE_KEY). The key comes from the operating system's cryptographic random source.
 */
import type { Command } from 'commander';
import { generateKey } from '../runtime/keyring.js';

export function registerKeygenCommand(program: Command): void {
  program
    .command('keygen')
    .description('Print a new encryption key (32 random bytes, base64) for --key')
    .action(() => {
      process.stdout.write(`${generateKey()}\n`);
    });
}
