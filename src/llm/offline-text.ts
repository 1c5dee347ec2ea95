// A stable hash for the offline responder's choices: the same input always picks the same phrasing.

/** FNV-1a: a stable 32-bit hash. */
export function hash(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
