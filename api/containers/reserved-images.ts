/**
 * Images that BoatLoad itself creates (snapshots, `boatload/snapshot:<id>`) are owned objects: they
 * are reached only through the field that checks ownership (`snapshot`). Naming one through
 * `image_name`/`image_tag`, in any spelling the engine resolves to it, is a 404 as for another
 * user's object, whether the snapshot exists or not and whoever owns it (so the answer says
 * nothing about other users' snapshots).
 */
import { SNAPSHOT_REPOSITORY } from '../../common/labels';

/** Repositories only BoatLoad writes to. */
const RESERVED_REPOSITORIES: readonly string[] = [SNAPSHOT_REPOSITORY];

/**
 * Docker quirk: the engine normalizes these registry prefixes away (`docker.io/x/y` and
 * `index.docker.io/x/y` are `x/y`; exactly these spellings, case-sensitively).
 */
const DOCKER_HUB_PREFIXES: readonly string[] = ['docker.io/', 'index.docker.io/'];

/**
 * Docker quirk: `sha256:<hex>` is an image ID, and the engine also resolves a prefix of one
 * (`sha256:dbaa24ed4e3c`). image_name `sha256` with the hex as image_tag therefore names an image by
 * ID, which can be a snapshot's: every image ID reference is refused (name images by repository).
 */
const IMAGE_ID_ALGORITHM = 'sha256';

/** Whether `image_name` (validated against the reference grammar) can name an image BoatLoad made. */
export function namesReservedImage(imageName: string): boolean {
  if (imageName === IMAGE_ID_ALGORITHM) return true;
  const prefix = DOCKER_HUB_PREFIXES.find((p) => imageName.startsWith(p));
  const repository = prefix ? imageName.slice(prefix.length) : imageName;
  return RESERVED_REPOSITORIES.includes(repository);
}
