// The real node's infrastructure images, built from what cluster/build-realnode.sh cached (Debian packages
// and the CoreDNS binary) into OCI archives next to them, once per cache key:
//   pause    Debian's static catatonit in pause mode (containerd's sandbox image);
//   busybox  Debian's busybox-static with its applets and a passwd entry for uid 65532 (tests);
//   coredns  CoreDNS (cluster DNS), run as 65532 on unprivileged ports.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeOciArchive, type OciArchive } from './oci-archive.ts';

export const PAUSE_IMAGE = 'paddock.local/pause:catatonit';
export const BUSYBOX_IMAGE = 'paddock.local/busybox:1.35';
export const COREDNS_IMAGE = 'paddock.local/coredns:local';

/** The user every test and agent image runs as (docs/testing.md). */
export const NONROOT_UID = 65532;

export interface InfraImages {
  readonly pause: OciArchive;
  readonly busybox: OciArchive;
  readonly coredns: OciArchive;
}

/** Builds the archives under `<buildDir>/images/` unless they are there already. */
export function ensureInfraImages(buildDir: string): InfraImages {
  const dir = join(buildDir, 'images');
  const root = join(buildDir, 'root');
  mkdirSync(dir, { recursive: true });
  const build = (
    name: string,
    fill: (rootfs: string) => Omit<Parameters<typeof writeOciArchive>[0], 'rootfs'>,
  ) => {
    const out = join(dir, `${name}.oci.tar`);
    const rootfs = join(dir, `${name}.rootfs-${process.pid}`);
    rmSync(rootfs, { recursive: true, force: true });
    mkdirSync(rootfs, { recursive: true });
    const spec = fill(rootfs);
    const archive = existsSync(out)
      ? { path: out, reference: spec.reference, manifestDigest: '' }
      : writeOciArchive({ ...spec, rootfs }, out);
    rmSync(rootfs, { recursive: true, force: true });
    return archive;
  };
  return {
    pause: build('pause', (rootfs) => {
      copyFileSync(join(root, 'usr/bin/catatonit'), join(rootfs, 'catatonit'));
      chmodSync(join(rootfs, 'catatonit'), 0o755);
      return { reference: PAUSE_IMAGE, entrypoint: ['/catatonit', '-P'], user: '65535:65535' };
    }),
    busybox: build('busybox', (rootfs) => {
      fillBusybox(rootfs, join(root, 'bin/busybox'));
      return { reference: BUSYBOX_IMAGE, cmd: ['sh'] };
    }),
    coredns: build('coredns', (rootfs) => {
      copyFileSync(join(buildDir, 'bin/coredns'), join(rootfs, 'coredns'));
      chmodSync(join(rootfs, 'coredns'), 0o755);
      writeEtc(rootfs);
      return {
        reference: COREDNS_IMAGE,
        entrypoint: ['/coredns'],
        user: `${NONROOT_UID}:${NONROOT_UID}`,
      };
    }),
  };
}

function fillBusybox(rootfs: string, busybox: string): void {
  const bin = join(rootfs, 'bin');
  mkdirSync(bin, { recursive: true });
  copyFileSync(busybox, join(bin, 'busybox'));
  chmodSync(join(bin, 'busybox'), 0o755);
  const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', join(bin, a));
  writeEtc(rootfs);
}

/** passwd/group with root, the non-root user and nobody; a world-writable /tmp mount point. */
function writeEtc(rootfs: string): void {
  const etc = join(rootfs, 'etc');
  mkdirSync(etc, { recursive: true });
  writeFileSync(
    join(etc, 'passwd'),
    `root:x:0:0:root:/root:/bin/sh\nnonroot:x:${NONROOT_UID}:${NONROOT_UID}:nonroot:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n`,
  );
  writeFileSync(join(etc, 'group'), `root:x:0:\nnonroot:x:${NONROOT_UID}:\nnogroup:x:65534:\n`);
  mkdirSync(join(rootfs, 'tmp'), { recursive: true });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
}
