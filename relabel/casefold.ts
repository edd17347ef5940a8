// Go's strings.ToLower / strings.ToUpper, which map each code point by
// Unicode's *simple* case mapping. JavaScript's toLowerCase/toUpperCase use
// the full mapping (ß → SS, İ → i̇) and context (final sigma), so non-ASCII
// input is mapped one code point at a time with the few full-only mappings
// replaced by their simple counterparts.

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function simpleUpper(cp: number, mapped: string): number {
  // Greek letters with ypogegrammeni: the simple uppercase is the titlecase letter.
  if ((cp >= 0x1f80 && cp <= 0x1f87) || (cp >= 0x1f90 && cp <= 0x1f97) || (cp >= 0x1fa0 && cp <= 0x1fa7)) return cp + 8;
  if (cp === 0x1fb3) return 0x1fbc;
  if (cp === 0x1fc3) return 0x1fcc;
  if (cp === 0x1ff3) return 0x1ffc;
  // Everything else that only has a full (multi-character) mapping stays as is.
  void mapped;
  return cp;
}

function mapCodePoints(s: string, lower: boolean): string {
  let out = '';
  for (const ch of s) {
    const mapped = lower ? ch.toLowerCase() : ch.toUpperCase();
    const first = mapped.codePointAt(0) as number;
    if (mapped.length === ch.length || String.fromCodePoint(first) === mapped) {
      out += mapped;
      continue;
    }
    const cp = ch.codePointAt(0) as number;
    // U+0130 (İ) is the only code point whose lowercase is longer; simple maps it to "i".
    out += String.fromCodePoint(lower ? (cp === 0x130 ? 0x69 : cp) : simpleUpper(cp, mapped));
  }
  return out;
}

export function goToLower(s: string): string {
  return isAscii(s) ? s.toLowerCase() : mapCodePoints(s, true);
}

export function goToUpper(s: string): string {
  return isAscii(s) ? s.toUpperCase() : mapCodePoints(s, false);
}
