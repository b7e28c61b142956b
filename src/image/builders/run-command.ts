// `run_command` (the arguments after `docker run`) turned into an Engine API container spec.
// Packer hands them to the docker CLI; kiln talks to the Engine API, so it reads the flags a build
// container can sensibly use and refuses the rest by name.
import { KilnError } from '../../core/errors.js';

interface RunSpec {
  image: string;
  cmd: string[];
  entrypoint?: string[];
  tty: boolean;
  openStdin: boolean;
  env: string[];
  user?: string;
  workdir?: string;
  binds: string[];
  privileged: boolean;
  capAdd: string[];
  capDrop: string[];
  devices: string[];
  tmpfs: Record<string, string>;
  labels: Record<string, string>;
  network?: string;
  hostname?: string;
  init: boolean;
}

const WITH_VALUE = new Set(['entrypoint', 'e', 'env', 'u', 'user', 'w', 'workdir', 'v', 'volume', 'cap-add', 'cap-drop', 'device', 'tmpfs', 'l', 'label', 'network', 'net', 'h', 'hostname', 'name']);
const BOOL = new Set(['d', 'detach', 'i', 'interactive', 't', 'tty', 'privileged', 'rm', 'init']);

export function parseRunCommand(args: readonly string[]): RunSpec {
  const spec: RunSpec = { image: '', cmd: [], tty: false, openStdin: false, env: [], binds: [], privileged: false, capAdd: [], capDrop: [], devices: [], tmpfs: {}, labels: {}, init: false };
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    let name: string;
    let value: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      value = eq < 0 ? undefined : a.slice(eq + 1);
    } else {
      // Short flags may be grouped: -dit
      const letters = a.slice(1);
      if (letters.length > 1 && [...letters].every((l) => BOOL.has(l))) {
        for (const l of letters) applyBool(spec, l);
        continue;
      }
      name = letters[0]!;
      value = letters.length > 1 ? letters.slice(1).replace(/^=/, '') : undefined;
    }
    if (BOOL.has(name)) {
      if (value === undefined || value === 'true') applyBool(spec, name);
      continue;
    }
    if (!WITH_VALUE.has(name)) throw new KilnError('RUN_COMMAND', `run_command: the docker run flag ${a} is not supported by kiln (it talks to the Engine API, not the docker CLI)`);
    if (value === undefined) {
      if (i + 1 >= args.length) throw new KilnError('RUN_COMMAND', `run_command: ${a} needs a value`);
      value = args[++i]!;
    }
    switch (name) {
      case 'entrypoint':
        spec.entrypoint = value === '' ? [] : [value];
        break;
      case 'e':
      case 'env':
        spec.env.push(value);
        break;
      case 'u':
      case 'user':
        spec.user = value;
        break;
      case 'w':
      case 'workdir':
        spec.workdir = value;
        break;
      case 'v':
      case 'volume':
        spec.binds.push(value);
        break;
      case 'cap-add':
        spec.capAdd.push(value);
        break;
      case 'cap-drop':
        spec.capDrop.push(value);
        break;
      case 'device':
        spec.devices.push(value);
        break;
      case 'tmpfs': {
        const c = value.indexOf(':');
        spec.tmpfs[c < 0 ? value : value.slice(0, c)] = c < 0 ? '' : value.slice(c + 1);
        break;
      }
      case 'l':
      case 'label': {
        const eq = value.indexOf('=');
        spec.labels[eq < 0 ? value : value.slice(0, eq)] = eq < 0 ? '' : value.slice(eq + 1);
        break;
      }
      case 'network':
      case 'net':
        spec.network = value;
        break;
      case 'h':
      case 'hostname':
        spec.hostname = value;
        break;
      case 'name':
        // kiln names nothing: names collide between parallel builds. Ignored on purpose.
        break;
    }
  }
  const rest = args.slice(i);
  if (!rest.length || !rest[0]) throw new KilnError('RUN_COMMAND', 'run_command: no image given (the default ends with `--` `{{.Image}}`)');
  spec.image = rest[0];
  spec.cmd = rest.slice(1);
  return spec;
}

function applyBool(spec: RunSpec, name: string): void {
  if (name === 'i' || name === 'interactive') spec.openStdin = true;
  else if (name === 't' || name === 'tty') spec.tty = true;
  else if (name === 'privileged') spec.privileged = true;
  else if (name === 'init') spec.init = true;
}

/** How Packer would show it: `docker run -v TMP:/packer-files -d -i -t --entrypoint=/bin/sh -- image`. */
export function describeRun(prefix: string[], args: readonly string[]): string {
  return ['docker', 'run', ...prefix, ...args].join(' ');
}
