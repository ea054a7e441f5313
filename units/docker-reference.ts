/** Docker's naming rules: image references, container, volume and network names. */

const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;
const MAX_IMAGE_NAME_LENGTH = 255;

/** Why `name` is not a valid container name (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`), or null. */
export function containerNameProblem(name: string): string | null {
  return CONTAINER_NAME.test(name) ? null : `invalid container name "${name}": use 2+ characters of [a-zA-Z0-9_.-], starting with a letter or digit`;
}

/** Why `name` is not a valid named-volume name, or null. */
export function volumeNameProblem(name: string): string | null {
  return CONTAINER_NAME.test(name) ? null : `invalid volume name "${name}"`;
}

/** Why `name` is not a usable network name, or null. */
export function networkNameProblem(name: string): string | null {
  return NETWORK_NAME.test(name) ? null : `invalid network name "${name}"`;
}

/**
 * Why `reference` is not a docker image reference, or null:
 * `[host[:port]/]path[/path...][:tag][@sha256:hex]` with lowercase path components.
 * The first component is a registry host when it has a `.` or `:`, or is `localhost`.
 */
export function imageReferenceProblem(reference: string): string | null {
  const bad = `invalid image reference "${reference}"`;
  let rest = reference;
  const at = rest.indexOf('@');
  if (at >= 0) {
    if (!DIGEST.test(rest.slice(at + 1))) return `${bad}: bad digest`;
    rest = rest.slice(0, at);
  }
  const lastSlash = rest.lastIndexOf('/');
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > lastSlash) {
    if (!TAG.test(rest.slice(lastColon + 1))) return `${bad}: bad tag`;
    rest = rest.slice(0, lastColon);
  }
  if (rest === '') return `${bad}: no repository name`;
  if (rest.length > MAX_IMAGE_NAME_LENGTH) return `${bad}: name longer than ${MAX_IMAGE_NAME_LENGTH} characters`;
  const components = rest.split('/');
  const first = components[0];
  if (components.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    if (!DOMAIN.test(first)) return `${bad}: bad registry host "${first}"`;
    components.shift();
  }
  const badComponent = components.find((component) => !PATH_COMPONENT.test(component));
  if (badComponent !== undefined) {
    return `${bad}: "${badComponent}" must be lowercase letters and digits, separated by ".", "_", "__" or "-"`;
  }
  return null;
}
