/**
 * Scripts staged as host files, bind-mounted read-only into their containers at the script's path.
 *
 * Copying a script into a created container (the engine's PUT /archive) mounts and unmounts the
 * container's root filesystem: ~60-90 ms of every script run, measured here. A bind mount of a host
 * file costs nothing extra at create or start. The engine resolves a bind source on *its* host, so
 * this needs the satellite to see the same filesystem as the engine (a satellite in a container
 * without that directory mounted at the same path must turn it off: SATELLITE_SCRIPT_DIR=off).
 *
 * Each container's script lives in `<dir>/<container name>/script`; it goes with the container, and
 * a sweep removes those whose container disappeared some other way.
 */
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONTAINER_NAME, STDIN_PATH, type ScriptStaging } from '../common/satellite-protocol';

/**
 * The command of a run that has a standard input: the engine cannot give PID 1 a file as its stdin
 * (only an attached stream), so the image's sh opens the staged file and execs the run's command.
 */
export const withStdin = (cmd: string[]): string[] => ['/bin/sh', '-c', `exec "$0" "$@" <${STDIN_PATH}`, ...cmd];

/** A sweep leaves younger directories alone: their container may be being created right now. */
const SWEEP_MIN_AGE_MS = 10 * 60 * 1000;

export interface ScriptMount {
  Type: 'bind';
  Source: string;
  Target: string;
  ReadOnly: true;
}

export class ScriptFiles {
  /** `sweepMinAgeMs`: how old an orphaned script must be before a sweep removes it. */
  constructor(
    private readonly dir: string,
    private readonly sweepMinAgeMs = SWEEP_MIN_AGE_MS,
  ) {}

  /** Whether a container of this name can have its script here (else it is copied in). */
  static canStage(containerName: string): boolean {
    return CONTAINER_NAME.test(containerName);
  }

  /** Writes the container's script and answers the mount that puts it at its path. */
  async stage(containerName: string, script: ScriptStaging): Promise<ScriptMount> {
    const dir = this.dirOf(containerName);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const source = join(dir, 'script');
    await writeFile(source, Buffer.from(script.contentBase64, 'base64'), { mode: 0o755 });
    return { Type: 'bind', Source: source, Target: script.path, ReadOnly: true };
  }

  /** Stages a run's standard input next to its script, mounted read-only at STDIN_PATH. */
  async stageStdin(containerName: string, stdinBase64: string): Promise<ScriptMount> {
    const source = join(this.dirOf(containerName), 'stdin');
    await writeFile(source, Buffer.from(stdinBase64, 'base64'), { mode: 0o644 });
    return { Type: 'bind', Source: source, Target: STDIN_PATH, ReadOnly: true };
  }

  /** Removes the container's script, if it has one. */
  async remove(containerName: string): Promise<void> {
    if (CONTAINER_NAME.test(containerName)) await rm(this.dirOf(containerName), { recursive: true, force: true });
  }

  /** Removes scripts older than a few minutes whose container is not among `existing`. */
  async sweep(existing: ReadonlySet<string>): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      if (existing.has(name) || !CONTAINER_NAME.test(name)) continue;
      const info = await stat(join(this.dir, name)).catch(() => null);
      if (!info || Date.now() - info.mtimeMs < this.sweepMinAgeMs) continue;
      await rm(join(this.dir, name), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  private dirOf(containerName: string): string {
    if (!CONTAINER_NAME.test(containerName)) throw new Error(`unsafe container name for a script directory: ${JSON.stringify(containerName)}`);
    return join(this.dir, containerName);
  }
}
