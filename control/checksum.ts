// The content checksum of a rendered manifests.yaml (the top README's contract §3):
// `sha256:<hex>` of the whole text with the value of every
// `fleetscope.io/checksum` annotation set to the empty string. Precisely:
// every line that is optional spaces, then `fleetscope.io/checksum:`, then
// anything, is replaced by those spaces and `fleetscope.io/checksum: ''`
// before hashing the UTF-8 bytes. The agent recomputes it the same way.
import { createHash } from 'node:crypto';

export const CHECKSUM_ANNOTATION = 'fleetscope.io/checksum';
const CHECKSUM_LINE = /^( *)fleetscope\.io\/checksum:.*$/gm;
/** How the renderer writes the annotation before the checksum is known. */
export const EMPTY_CHECKSUM_LINE = "fleetscope.io/checksum: ''";

/** The text with every checksum annotation's value emptied: what the checksum covers. */
export function withEmptyChecksum(yamlText: string): string {
  return yamlText.replace(CHECKSUM_LINE, `$1${EMPTY_CHECKSUM_LINE}`);
}

/** `sha256:<hex>` of `yamlText` with its checksum annotations emptied. */
export function manifestChecksum(yamlText: string): string {
  return `sha256:${createHash('sha256').update(withEmptyChecksum(yamlText)).digest('hex')}`;
}

/** Writes `checksum` into every (empty) checksum annotation of text rendered with them empty. */
export function fillChecksum(emptiedText: string, checksum: string): string {
  return emptiedText.replace(CHECKSUM_LINE, `$1${CHECKSUM_ANNOTATION}: ${checksum}`);
}
