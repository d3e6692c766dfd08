// Modbus slave peer for tests and the benchmark: modbus-serial's ServerTCP/ServerSerial serving SDM630/SDM120/SunSpec
// register maps (encoded here independently of the bridge), with fault injection driven by JSON lines on stdin.
import { createInterface } from 'node:readline';
import ModbusSerial from 'modbus-serial';

/** `sunspec-…@B` puts the SunS marker at base B (40000 by default; the spec also allows 50000 and 0). */
type MapName = string;

interface PeerConfig {
  transport: 'tcp' | 'serial';
  port?: number;
  path?: string;
  baudRate?: number;
  parity?: 'none' | 'even' | 'odd';
  devices: Record<string, MapName>;
  /** Refuse reads longer than this with exception 02 (like Eastron units that stop at ~50). */
  maxRegisters?: number;
  /** Simulated device turnaround before answering (ms). */
  turnaroundMs?: number;
}

const cfg = JSON.parse(process.argv[2]) as PeerConfig;

type Registers = Map<number, number>;
interface Device {
  input: Registers;
  holding: Registers;
}

function f32(regs: Registers, addr: number, value: number): void {
  const b = Buffer.alloc(4);
  b.writeFloatBE(value);
  regs.set(addr, b.readUInt16BE(0));
  regs.set(addr + 1, b.readUInt16BE(2));
}
function u16(regs: Registers, addr: number, v: number): void {
  regs.set(addr, v & 0xffff);
}
function u32(regs: Registers, addr: number, v: number): void {
  regs.set(addr, Math.floor(v / 65536) & 0xffff);
  regs.set(addr + 1, v & 0xffff);
}
function str(regs: Registers, addr: number, s: string, words: number): void {
  const b = Buffer.alloc(words * 2);
  b.write(s, 'ascii');
  for (let i = 0; i < words; i++) regs.set(addr + i, b.readUInt16BE(i * 2));
}

/** Eastron: 0x00.. V, A, W per phase; 0x34 W total; 0x46 Hz; 0x48/0x4A kWh import/export (float32 ABCD). */
function eastron(phases: 1 | 3): Device {
  const input: Registers = new Map();
  // Eastron answers every address of its documented ranges; undocumented ones in between read as 0.
  for (let a = 0; a < 0x50; a++) input.set(a, 0);
  for (let a = 0xc8; a < 0x100; a++) input.set(a, 0);
  for (let a = 0x150; a < 0x180; a++) input.set(a, 0);
  const p = phases === 3 ? [230.1, 231.2, 229.8] : [230.1];
  p.forEach((v, i) => f32(input, i * 2, v));
  const amps = phases === 3 ? [5.25, 4.5, 3.125] : [5.25];
  amps.forEach((v, i) => f32(input, 6 + i * 2, v));
  const watts = phases === 3 ? [1200, 1000, 500] : [1200];
  if (phases === 3) watts.forEach((v, i) => f32(input, 12 + i * 2, v));
  f32(input, phases === 3 ? 0x34 : 0x0c, watts.reduce((a, b) => a + b, 0));
  f32(input, 0x46, 50.01);
  f32(input, 0x48, 12345.678);
  f32(input, 0x4a, 2345.5);
  return { input, holding: new Map() };
}

/** SunSpec: SunS at 40000, common model 1, then 103 (inverter) and/or 203 (meter), end marker. */
function sunspec(which: 'inverter' | 'meter' | 'both', base = 40000): Device {
  const h: Registers = new Map();
  u32(h, base, 0x53756e53);
  let a = base + 2;
  u16(h, a, 1);
  u16(h, a + 1, 66);
  for (let i = 0; i < 66; i++) u16(h, a + 2 + i, 0);
  str(h, a + 2, 'gridmesh-sim', 16);
  str(h, a + 18, 'SunSpec-' + which, 16);
  str(h, a + 42, '1.2.3', 8);
  str(h, a + 50, 'SN0001', 16);
  a += 2 + 66;
  if (which !== 'meter') {
    u16(h, a, 103);
    u16(h, a + 1, 50);
    const d = a + 2;
    for (let i = 0; i < 50; i++) u16(h, d + i, 0);
    u16(h, d + 1, 1052); u16(h, d + 2, 1048); u16(h, d + 3, 1050); u16(h, d + 4, 0xfffe); // 10.52 A … SF −2
    u16(h, d + 8, 2301); u16(h, d + 9, 2312); u16(h, d + 10, 2298); u16(h, d + 11, 0xffff); // 230.1 V, SF −1
    u16(h, d + 12, 7250); u16(h, d + 13, 0); // 7250 W, SF 0
    u16(h, d + 14, 5001); u16(h, d + 15, 0xfffe); // 50.01 Hz
    u32(h, d + 22, 1234567); u16(h, d + 24, 1); // 12 345 670 Wh, SF +1
    u16(h, d + 36, 4); // MPPT
    a += 2 + 50;
  }
  if (which !== 'inverter') {
    u16(h, a, 203);
    u16(h, a + 1, 105);
    const d = a + 2;
    for (let i = 0; i < 105; i++) u16(h, d + i, 0);
    u16(h, d + 1, 525); u16(h, d + 2, 450); u16(h, d + 3, 313); u16(h, d + 4, 0xfffe);
    u16(h, d + 6, 2301); u16(h, d + 7, 2312); u16(h, d + 8, 2298); u16(h, d + 13, 0xffff);
    u16(h, d + 14, 5001); u16(h, d + 15, 0xfffe);
    u16(h, d + 16, 2700); u16(h, d + 17, 1200); u16(h, d + 18, 1000); u16(h, d + 19, 500); u16(h, d + 20, 0);
    u32(h, d + 36, 2345500); u32(h, d + 44, 12345678); u16(h, d + 52, 0);
    a += 2 + 105;
  }
  u16(h, a, 0xffff);
  u16(h, a + 1, 0);
  return { input: new Map(), holding: h };
}

const devices = new Map<number, Device>();
for (const [unit, map] of Object.entries(cfg.devices)) {
  const [name, base] = map.split('@');
  devices.set(Number(unit), name === 'sdm630' ? eastron(3) : name === 'sdm120' ? eastron(1) : sunspec(name.slice('sunspec-'.length) as 'inverter' | 'meter' | 'both', base ? Number(base) : 40000));
}

let silence = 0;
let corrupt = 0;
const say = (event: Record<string, unknown>) => process.stdout.write(JSON.stringify(event) + '\n');

type Cb = (err: unknown, value?: unknown) => void;
function serve(kind: 'input' | 'holding', addr: number, len: number, unit: number, cb: Cb): void {
  const dev = devices.get(unit);
  say({ event: 'request', unit, fn: kind, address: addr, count: len, answered: !!dev && silence === 0, at: Date.now() });
  if (!dev) return; // no such unit on the bus: silence, like a real RS485 bus
  if (silence > 0) {
    silence--;
    return;
  }
  const reply = () => {
    if (cfg.maxRegisters && len > cfg.maxRegisters) return cb({ modbusErrorCode: 2, msg: 'Illegal data address' }, []);
    const regs = dev[kind];
    const out: number[] = [];
    for (let i = 0; i < len; i++) {
      const v = regs.get(addr + i);
      if (v === undefined) return cb({ modbusErrorCode: 2, msg: 'Illegal data address' }, []);
      out.push(v);
    }
    cb(null, len === 1 ? out[0] : out);
  };
  if (cfg.turnaroundMs) setTimeout(reply, cfg.turnaroundMs);
  else reply();
}

const vector = {
  getInputRegister: (addr: number, unit: number, cb: Cb) => serve('input', addr, 1, unit, cb),
  getHoldingRegister: (addr: number, unit: number, cb: Cb) => serve('holding', addr, 1, unit, cb),
  getMultipleInputRegisters: (addr: number, len: number, unit: number, cb: Cb) => serve('input', addr, len, unit, cb),
  getMultipleHoldingRegisters: (addr: number, len: number, unit: number, cb: Cb) => serve('holding', addr, len, unit, cb),
  setRegister: (_addr: number, _v: number, _unit: number, cb: Cb) => cb(null),
};

const lib = ModbusSerial as unknown as {
  ServerTCP: new (v: unknown, o: unknown) => { on(ev: string, cb: (e: unknown) => void): void; close(cb: () => void): void; _server?: { address(): { port: number } } };
  ServerSerial: new (v: unknown, o: unknown) => { on(ev: string, cb: (e: unknown) => void): void; close(cb: () => void): void; getPort(): { write(b: Buffer): void } };
};

let server: { close(cb: () => void): void };
if (cfg.transport === 'tcp') {
  const s = new lib.ServerTCP(vector, { host: '127.0.0.1', port: cfg.port ?? 0, unitID: 255 });
  server = s;
  s.on('initialized', () => say({ event: 'ready', port: s._server?.address().port }));
  s.on('socketError', (e) => say({ event: 'error', message: String(e) }));
} else {
  // Responses pass through here so a test can corrupt the CRC of the next ones.
  const portResponse = {
    write(b: Buffer) {
      const frame = Buffer.from(b);
      if (corrupt > 0) {
        corrupt--;
        frame[frame.length - 1] ^= 0x5a;
      }
      s.getPort().write(frame);
    },
  };
  const s: InstanceType<typeof lib.ServerSerial> = new lib.ServerSerial(vector, {
    path: cfg.path,
    baudRate: cfg.baudRate ?? 9600,
    parity: cfg.parity ?? 'none',
    unitID: 255,
    interval: 10,
    portResponse,
  });
  server = s;
  s.on('initialized', () => say({ event: 'ready' }));
  s.on('error', (e) => say({ event: 'error', message: String(e) }));
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line) as { cmd: string; count?: number; unit?: number; address?: number; value?: number };
  if (cmd.cmd === 'silence') silence = cmd.count ?? 1;
  if (cmd.cmd === 'corrupt') corrupt = cmd.count ?? 1;
  if (cmd.cmd === 'set-f32') f32(devices.get(cmd.unit!)!.input, cmd.address!, cmd.value!);
  if (cmd.cmd === 'exit') server.close(() => process.exit(0));
  say({ event: 'ack', cmd: cmd.cmd });
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
