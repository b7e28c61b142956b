// Packer-template half of `kiln validate`; the image engine fills it in.
import type { CliIO } from '../io.js';

export async function runImageValidate(_argv: string[], io: CliIO): Promise<number> {
  io.err('kiln validate: Packer templates are not supported yet (issue #3)\n');
  return 3;
}
