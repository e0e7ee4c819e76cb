// Runs a Dockerfile's own steps without a Docker engine (none runs where this project is tested): each
// stage in a folder of its own that stands for its root file system, COPY from the build context (minus
// .dockerignore) or from an earlier stage, RUN through /bin/sh in the stage's WORKDIR with its ENV, and
// the last stage's CMD, ENV, EXPOSE and HEALTHCHECK handed back for the caller to start. The Dockerfile
// stays the one description of the image: what this runs is what it says, instruction by instruction.
// Only the instructions the project's Dockerfile uses are known; any other one stops the run, so the
// image cannot grow a step this check silently skips.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface Instruction {
  op: string;
  /** Flags before the arguments (`--from=build`, `--mount=…`), without their leading dashes. */
  flags: Record<string, string>;
  args: string;
  line: number;
}

export interface Stage {
  name: string | null;
  base: string;
  instructions: Instruction[];
}

export interface BuiltImage {
  /** The folder that stands for the last stage's root file system. */
  root: string;
  /** Its WORKDIR, inside `root`. */
  workdir: string;
  env: Record<string, string>;
  cmd: string[];
  /** HEALTHCHECK's command (shell form), or null. */
  healthcheck: string | null;
  exposed: number[];
  base: string;
}

const KNOWN = new Set(['FROM', 'WORKDIR', 'COPY', 'RUN', 'ENV', 'USER', 'EXPOSE', 'HEALTHCHECK', 'CMD']);

/** The stages of a Dockerfile's text: comments dropped, continued lines joined. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const start = index + 1;
    let line = lines[index].trim();
    if (line === '' || line.startsWith('#')) continue;
    while (line.endsWith('\\') && index + 1 < lines.length) {
      index += 1;
      const next = lines[index].trim();
      if (!next.startsWith('#')) line = `${line.slice(0, -1).trimEnd()} ${next}`;
    }
    const match = /^(\S+)\s+(.*)$/.exec(line);
    if (!match) throw new Error(`Dockerfile:${start}: cannot read "${line}"`);
    const op = match[1].toUpperCase();
    if (!KNOWN.has(op)) throw new Error(`Dockerfile:${start}: ${op} is not an instruction this check runs`);
    let rest = match[2];
    const flags: Record<string, string> = {};
    for (
      let flag = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest);
      flag;
      flag = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest)
    ) {
      flags[flag[1]] = flag[2] ?? '';
      rest = rest.slice(flag[0].length);
    }
    if (op === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!from) throw new Error(`Dockerfile:${start}: cannot read FROM "${rest}"`);
      stages.push({ base: from[1], name: from[2] ?? null, instructions: [] });
      continue;
    }
    if (stages.length === 0) throw new Error(`Dockerfile:${start}: ${op} before any FROM`);
    stages[stages.length - 1].instructions.push({ op, flags, args: rest, line: start });
  }
  return stages;
}

/** .dockerignore's patterns: `*` and `?` within one path segment, `**` across segments. */
export function dockerignore(text: string): (relative: string) => boolean {
  const patterns = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (patterns.some((pattern) => pattern.startsWith('!')))
    throw new Error('.dockerignore: exceptions (!) are not supported by this check');
  const regexes = patterns.map((pattern) => {
    const body = pattern
      .replace(/^\/+|\/+$/g, '')
      .split('/')
      .map((segment) =>
        segment === '**'
          ? '.*'
          : segment
              .replace(/[.+^${}()|[\]\\]/g, '\\$&')
              .replace(/\*/g, '[^/]*')
              .replace(/\?/g, '[^/]'),
      )
      .join('/');
    return new RegExp(`^${body}$`);
  });
  // A path is left out when it, or a folder it is in, matches.
  return (relative) => {
    const parts = relative.split('/');
    return parts.some((_, n) => regexes.some((regex) => regex.test(parts.slice(0, n + 1).join('/'))));
  };
}

/** The JSON exec form (`["node", "x.js"]`) or the shell form, as argv. */
function execForm(args: string): string[] {
  if (args.startsWith('[')) return JSON.parse(args) as string[];
  return ['/bin/sh', '-c', args];
}

function parseEnv(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  const pairs = args.match(/[\w.]+=("[^"]*"|\S*)/g);
  if (!pairs) {
    const [key, ...value] = args.split(/\s+/);
    out[key] = value.join(' ');
    return out;
  }
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    out[pair.slice(0, at)] = pair.slice(at + 1).replace(/^"(.*)"$/, '$1');
  }
  return out;
}

export interface RunOptions {
  /** The build context (the project's root). */
  context: string;
  /** An empty folder: each stage gets a folder in it. */
  out: string;
  /** The environment every RUN gets besides the stage's ENV (PATH, HOME, …). */
  baseEnv: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

/** Runs every stage in order; returns what the last one would start. */
export function runDockerfile(stages: Stage[], options: RunOptions): BuiltImage {
  const log = options.log ?? (() => undefined);
  const ignored = dockerignore(
    fs.existsSync(path.join(options.context, '.dockerignore'))
      ? fs.readFileSync(path.join(options.context, '.dockerignore'), 'utf8')
      : '',
  );
  const roots = new Map<string, string>();
  let image: BuiltImage | null = null;
  for (const [index, stage] of stages.entries()) {
    const root = path.join(options.out, stage.name ?? `stage-${index}`);
    fs.mkdirSync(root, { recursive: true });
    roots.set(stage.name ?? String(index), root);
    const inRoot = (absolute: string): string => path.join(root, absolute);
    let workdir = '/';
    const env: Record<string, string> = {};
    let cmd: string[] = [];
    let healthcheck: string | null = null;
    const exposed: number[] = [];
    log(`FROM ${stage.base}${stage.name ? ` AS ${stage.name}` : ''}`);
    for (const step of stage.instructions) {
      log(`  ${step.op} ${step.args}`);
      const where = `Dockerfile:${step.line}`;
      switch (step.op) {
        case 'WORKDIR':
          workdir = path.posix.resolve(workdir, step.args);
          fs.mkdirSync(inRoot(workdir), { recursive: true });
          break;
        case 'ENV':
          Object.assign(env, parseEnv(step.args));
          break;
        case 'COPY': {
          const parts = step.args.startsWith('[')
            ? (JSON.parse(step.args) as string[])
            : step.args.split(/\s+/);
          const destination = path.posix.resolve(workdir, parts[parts.length - 1]);
          const sources = parts.slice(0, -1);
          const from = step.flags.from;
          const fromRoot = from === undefined ? options.context : roots.get(from);
          if (fromRoot === undefined) throw new Error(`${where}: no earlier stage is called ${from}`);
          const intoFolder = sources.length > 1 || parts[parts.length - 1].endsWith('/');
          for (const source of sources) {
            const absolute =
              from === undefined
                ? path.join(fromRoot, source)
                : path.join(fromRoot, path.posix.resolve('/', source));
            if (!fs.existsSync(absolute)) throw new Error(`${where}: ${source} does not exist`);
            const isFolder = fs.statSync(absolute).isDirectory();
            const target = inRoot(
              !isFolder && intoFolder
                ? path.posix.join(destination, path.posix.basename(source))
                : destination,
            );
            fs.mkdirSync(isFolder ? target : path.dirname(target), { recursive: true });
            fs.cpSync(absolute, target, {
              recursive: true,
              verbatimSymlinks: true,
              // Only the build context is filtered by .dockerignore; a stage's files are copied whole.
              filter: (file) =>
                from !== undefined ||
                path.relative(fromRoot, file) === '' ||
                !ignored(path.relative(fromRoot, file)),
            });
          }
          break;
        }
        case 'RUN':
          // --mount=type=cache keeps npm's cache out of the image; here the machine's own cache serves.
          execFileSync('/bin/sh', ['-c', step.args], {
            cwd: inRoot(workdir),
            env: { ...options.baseEnv, ...env },
            stdio: ['ignore', 'inherit', 'inherit'],
          });
          break;
        case 'CMD':
          cmd = execForm(step.args);
          break;
        case 'HEALTHCHECK': {
          const check = /(?:^|\s)CMD\s+(.*)$/.exec(step.args);
          healthcheck = check ? check[1] : null;
          break;
        }
        case 'EXPOSE':
          exposed.push(...step.args.split(/\s+/).map((port) => Number.parseInt(port, 10)));
          break;
        case 'USER':
          // Files here belong to whoever runs the check; the image's user only reads them.
          break;
        default:
          throw new Error(`${where}: ${step.op} is not an instruction this check runs`);
      }
    }
    image = { root, workdir: inRoot(workdir), env, cmd, healthcheck, exposed, base: stage.base };
  }
  if (!image) throw new Error('the Dockerfile has no stage');
  return image;
}
