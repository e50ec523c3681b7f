// The real node's infrastructure images, written with the project's OCI image writer (images/src/) from what
// cluster/build-realnode.sh cached (Debian packages and the CoreDNS binary), as OCI archives next to them,
// once per cache key:
//   pause    Debian's static catatonit in pause mode (containerd's sandbox image);
//   busybox  Debian's busybox-static with its applets and a passwd entry for uid 65532 (tests);
//   coredns  CoreDNS (cluster DNS), run as 65532 on unprivileged ports.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  baseSystemEntries,
  entryFromFile,
  NONROOT_UID,
  writeImage,
  type LayerEntry,
  type RuntimeConfig,
} from '../../images/src/index.ts';

export { NONROOT_UID };

export const PAUSE_IMAGE = 'paddock.local/pause:catatonit';
export const BUSYBOX_IMAGE = 'paddock.local/busybox:1.35';
export const COREDNS_IMAGE = 'paddock.local/coredns:local';

export interface InfraImage {
  readonly reference: string;
  /** The OCI archive `importImage` reads. */
  readonly path: string;
}

export interface InfraImages {
  readonly pause: InfraImage;
  readonly busybox: InfraImage;
  readonly coredns: InfraImage;
}

/** Writes the archives under `<buildDir>/images/` unless they are there already. */
export async function ensureInfraImages(buildDir: string): Promise<InfraImages> {
  const dir = join(buildDir, 'images');
  const root = join(buildDir, 'root');
  mkdirSync(dir, { recursive: true });
  const image = async (
    name: string,
    reference: string,
    entries: () => Promise<LayerEntry[]>,
    config: RuntimeConfig,
  ): Promise<InfraImage> => {
    const path = join(dir, `${name}.oci.tar`);
    if (!existsSync(path)) {
      await writeImage({
        reference,
        layers: [{ description: name, entries: await entries() }],
        config,
        path,
        epoch: 0,
      });
    }
    return { reference, path };
  };
  return {
    pause: await image(
      'pause',
      PAUSE_IMAGE,
      async () => [await entryFromFile(join(root, 'usr/bin/catatonit'), '/catatonit')],
      { entrypoint: ['/catatonit', '-P'], user: '65535:65535' },
    ),
    busybox: await image(
      'busybox',
      BUSYBOX_IMAGE,
      async () => {
        const busybox = join(root, 'bin/busybox');
        const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' })
          .split('\n')
          .filter((a) => a !== '' && a !== 'busybox');
        return [
          ...baseSystemEntries(),
          await entryFromFile(busybox, '/bin/busybox'),
          ...applets.map((a): LayerEntry => ({ type: 'symlink', path: `/bin/${a}`, target: 'busybox' })),
        ];
      },
      { cmd: ['sh'] },
    ),
    coredns: await image(
      'coredns',
      COREDNS_IMAGE,
      async () => [...baseSystemEntries(), await entryFromFile(join(buildDir, 'bin/coredns'), '/coredns')],
      { entrypoint: ['/coredns'], user: `${NONROOT_UID}:${NONROOT_UID}` },
    ),
  };
}
