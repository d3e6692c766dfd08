// CRC-16 with the reflected polynomial 0xA001: init 0x0000 is CRC-16/ARC (DSMR P1), init 0xFFFF is Modbus RTU.
const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

export function crc16(bytes: Uint8Array, init: number): number {
  let crc = init & 0xffff;
  for (let i = 0; i < bytes.length; i++) crc = (crc >>> 8) ^ TABLE[(crc ^ bytes[i]) & 0xff];
  return crc;
}

/** CRC-16/ARC as DSMR 4+ telegrams carry it (check "123456789" → 0xBB3D). */
export const crc16Arc = (bytes: Uint8Array): number => crc16(bytes, 0x0000);
/** Modbus RTU frame CRC (sent low byte first). */
export const crc16Modbus = (bytes: Uint8Array): number => crc16(bytes, 0xffff);
