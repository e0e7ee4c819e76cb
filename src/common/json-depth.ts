// How deeply a JSON text nests its arrays and objects, read without parsing it: a body nested 20,000
// levels parses fine but overflows the stack of whatever walks it next (validation, idempotency hashing).
// Linear in the text, which the body limit keeps at 64 KiB.

/** True when `text` opens more than `maxDepth` arrays/objects inside one another (strings ignored). */
export function jsonNestsDeeperThan(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}
