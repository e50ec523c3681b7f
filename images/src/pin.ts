// `make images-pin PACKAGES='name ...'`: pin Debian packages for the images at the version apt
// offers now (version and sha256 into images/debian-packages.json). Run it when Debian has replaced
// a pinned version (a `make images` error says which), then commit the file: the images change.
import { pinPackages } from './debian.ts';
import { ociArchitecture } from './oci.ts';

const names = process.argv
  .slice(2)
  .flatMap((arg) => arg.split(/\s+/))
  .filter((n) => n !== '');
if (names.length === 0) {
  console.error("images-pin: name the packages, e.g. make images-pin PACKAGES='libc6 libstdc++6'");
  process.exit(2);
}
try {
  for (const [name, pin] of await pinPackages(names, ociArchitecture())) {
    console.log(`images-pin: ${name} ${pin.version} sha256:${pin.sha256}`);
  }
} catch (error) {
  console.error(`images-pin: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
