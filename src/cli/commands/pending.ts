// Placeholder for commands whose engine has not landed yet: says so plainly and fails.
import type { Command } from '../main.js';

export function pending(name: string, issue: string): Command {
  return {
    summary: `${name} (not implemented yet)`,
    async run(_argv, io) {
      io.err(`kiln ${name}: not implemented yet (tracked in issue ${issue})\n`);
      return 3;
    },
  };
}
