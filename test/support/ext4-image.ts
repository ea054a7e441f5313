/**
 * A small ext4 filesystem in a file, on a loop device, mounted with errors=remount-ro, so a test can
 * make it turn read-only under open files, as a real disk error does. (A plain `mount -o remount,ro`
 * or a read-only bind remount is refused with EBUSY while SQLite holds files open for writing.)
 * Needs root, losetup, mkfs.ext4 and e2fsck; every missing piece throws.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

export interface Ext4Image {
  /** Where the filesystem is mounted. */
  mountPoint: string;
  /** The kernel reports an error on the filesystem (`/sys/fs/ext4/<dev>/trigger_fs_error`): it turns read-only at once. */
  failReadOnly(): void;
  /** Whether the mount is read-only now (`ro` or `emergency_ro` in /proc/self/mounts). */
  isReadOnly(): boolean;
  /** Unmounts, repairs with e2fsck (as an operator would after such an error) and mounts again, writable. */
  repairAndRemount(): void;
  destroy(): void;
}

function run(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function createExt4Image(options: { sizeMiB: number }): Ext4Image {
  if (process.getuid?.() !== 0) throw new Error('an ext4 image needs root (losetup, mount): run the suite as root, as npm test in CI does');
  const dir = mkdtempSync(join(tmpdir(), 'boatload-ext4-'));
  const image = join(dir, 'fs.img');
  const mountPoint = join(dir, 'mnt');
  mkdirSync(mountPoint);
  writeFileSync(image, Buffer.alloc(0));
  run('truncate', ['-s', `${options.sizeMiB}M`, image]);
  run('mkfs.ext4', ['-q', '-F', image]);
  let device = '';
  const attachAndMount = (): void => {
    // Explicit losetup: `mount -o loop` refuses an image still attached elsewhere (see repairAndRemount).
    device = run('losetup', ['--find', '--show', image]);
    run('mount', ['-t', 'ext4', '-o', 'errors=remount-ro', device, mountPoint]);
  };
  const unmountAndDetach = (): void => {
    if (!device) return;
    run('umount', [mountPoint]);
    run('losetup', ['-d', device]);
    device = '';
  };
  attachAndMount();
  const mountOptions = (): string[] => {
    const line = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[1] === mountPoint);
    if (!line) throw new Error(`${mountPoint} is not mounted`);
    return line.split(' ')[3].split(',');
  };
  return {
    mountPoint,
    failReadOnly() {
      const trigger = `/sys/fs/ext4/${basename(device)}/trigger_fs_error`;
      if (!existsSync(trigger)) throw new Error(`${trigger} is missing: this kernel cannot inject an ext4 error`);
      writeFileSync(trigger, 'boatload test: injected error\n');
    },
    isReadOnly() {
      const opts = mountOptions();
      return opts.includes('ro') || opts.includes('emergency_ro');
    },
    repairAndRemount() {
      unmountAndDetach();
      // A namespace created while the image was mounted (e.g. by a cluster test's `unshare`) keeps a
      // copy of the old, now read-only mount; it writes nothing, so repairing the file is safe.
      try {
        run('e2fsck', ['-f', '-y', image]);
      } catch (err) {
        // e2fsck exits 1 when it corrected something (expected after an error); 4 and up is a failure.
        if ((err as { status?: number }).status !== 1) throw err;
      }
      attachAndMount();
    },
    destroy() {
      if (device) {
        spawnSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
        spawnSync('losetup', ['-d', device], { stdio: 'ignore' });
        device = '';
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
