/** CRC-32 (IEEE 802.3, the zlib/PNG/Ethernet one), for checksum trailers. */
import type { Endian, TrailerSpec } from "./shape.js";

let table: Uint32Array | null = null;

function crcTable(): Uint32Array {
  if (table !== null) return table;
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  table = t;
  return t;
}

/** The CRC-32 of `data` (`crc32("123456789") === 0xcbf43926`). */
export function crc32(data: Uint8Array): number {
  const t = crcTable();
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A 4-byte CRC-32 trailer named `name`, over the payload (default) or the whole frame. */
export function crc32Trailer<const N extends string>(
  name: N,
  options: { covers?: "payload" | "frame"; endian?: Endian } = {},
): TrailerSpec<N> {
  return {
    name,
    bytes: 4,
    endian: options.endian ?? "big",
    compute: crc32,
    covers: options.covers ?? "payload",
  };
}
