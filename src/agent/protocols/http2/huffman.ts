/**
 * @module HPACK's static Huffman code (RFC 7541 Appendix B), decode only.
 *
 * The code is canonical: codes of one length are consecutive and ordered by symbol, and each
 * length starts where the previous one ended, shifted. So the 257 code lengths define it
 * completely (checked in huffman.test.ts against codes listed in the RFC), and decoding needs,
 * per length, the first code and where its symbols start in the by-length symbol list.
 */

/** Code length of symbols 0..256 (256 = EOS), one character each: charCode - 48. */
const LENGTHS =
  '=GLLLLLLLHNLLNLLLLLLLLNLLLLLLLLL6::<=68;::8;8666555666666678?6<:=67777777777777777777777878=C=>6?56565666577666567655677777?;>=LDFDDFFFGFGGGGGHGHHFGHGGGGEFGFGGHFEDFFGGEGFFHEFGGEEFEGFGGDFFFGFFGJJDCFGFIJJJKKJHICEJKKJKHEEJJLKKKDHDEFEEGFFIIHHJGJKJJKKKKKLKKKKKJN';

const EOS = 256;
const MAX_LEN = 30;

export interface CanonicalCode {
  /** Symbols sorted by (length, symbol). */
  symbols: Uint16Array;
  /** firstCode[L]: the code of the first symbol of length L. */
  firstCode: Int32Array;
  /** firstIndex[L]: index in `symbols` of the first symbol of length L. */
  firstIndex: Int32Array;
  /** count[L]: how many symbols have length L. */
  count: Int32Array;
  /** codes[s] and lengths[s]: symbol s's code (right-aligned) and its length. */
  codes: Uint32Array;
  lengths: Uint8Array;
}

function buildCode(): CanonicalCode {
  const lengths = new Uint8Array(257);
  for (let s = 0; s < 257; s++) lengths[s] = LENGTHS.charCodeAt(s) - 48;
  const count = new Int32Array(MAX_LEN + 1);
  for (const l of lengths) count[l]!++;
  const firstIndex = new Int32Array(MAX_LEN + 2);
  const firstCode = new Int32Array(MAX_LEN + 2);
  let code = 0;
  let index = 0;
  for (let l = 1; l <= MAX_LEN; l++) {
    firstCode[l] = code;
    firstIndex[l] = index;
    code = (code + count[l]!) * 2;
    index += count[l]!;
  }
  const symbols = new Uint16Array(257);
  const next = Int32Array.from(firstIndex);
  const codes = new Uint32Array(257);
  for (let s = 0; s < 257; s++) {
    const l = lengths[s]!;
    const at = next[l]!++;
    symbols[at] = s;
    codes[s] = firstCode[l]! + (at - firstIndex[l]!);
  }
  return { symbols, firstCode, firstIndex, count, codes, lengths };
}

export const HUFFMAN: CanonicalCode = buildCode();

/**
 * Decodes `bytes[start, end)` as a Huffman-coded string (latin1), or null when the input is not
 * a valid code string: EOS inside it, or padding longer than 7 bits or not all ones
 * (RFC 7541 §5.2 makes both decoding errors).
 */
export function huffmanDecode(bytes: Uint8Array, start: number, end: number): string | null {
  const { symbols, firstCode, firstIndex, count } = HUFFMAN;
  let out = '';
  let code = 0;
  let len = 0;
  for (let i = start; i < end; i++) {
    const byte = bytes[i]!;
    for (let b = 7; b >= 0; b--) {
      code = (code << 1) | ((byte >> b) & 1);
      len++;
      const offset = code - firstCode[len]!;
      if (offset < count[len]!) {
        const sym = symbols[firstIndex[len]! + offset]!;
        if (sym === EOS) return null;
        out += String.fromCharCode(sym);
        code = 0;
        len = 0;
      } else if (len >= MAX_LEN) {
        return null;
      }
    }
  }
  // Leftover bits must be a prefix of EOS (all ones), at most 7 of them.
  if (len > 7 || code !== (1 << len) - 1) return null;
  return out;
}
