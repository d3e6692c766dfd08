// The live picture of the neighbourhood: each meter's latest verified reading joined with its home, plus bridge link health.
import type { Address, LivePower } from '@gridmesh/contracts-abi';
import type { Registry } from '../registry/registry.ts';
import type { Store, StoredReading } from '../store/index.ts';

export interface BridgeLink {
  meter: Address;
  online: boolean;
  since: number;
  outboxDepth: number | null;
  droppedReadings: number | null;
  sourceState: string | null;
  message: string | null;
}

export class LiveState {
  private readonly power = new Map<string, LivePower>();
  private readonly links = new Map<string, BridgeLink>();

  constructor(private readonly registry: Registry) {}

  async load(store: Store): Promise<void> {
    for (const home of this.registry.listHomes()) {
      const latest = await store.readings.latest(home.meter);
      if (latest) this.update(latest);
    }
  }

  /** Records a committed reading; returns the live entry to broadcast, if the meter is known. */
  update(r: StoredReading): LivePower | null {
    const home = this.registry.home(r.meter);
    if (!home) return null;
    const prev = this.power.get(home.meter);
    if (prev && prev.seq >= r.seq) return null;
    const live: LivePower = {
      meter: home.meter, owner: home.owner, name: home.name, role: home.role, powerW: r.powerW,
      importWh: r.importWh, exportWh: r.exportWh, timestamp: r.timestamp, seq: r.seq, verified: true,
    };
    this.power.set(home.meter, live);
    return live;
  }

  get(meter: string): LivePower | undefined {
    return this.power.get(meter.toLowerCase());
  }

  all(): LivePower[] {
    return [...this.power.values()];
  }

  setLink(meter: Address, patch: Partial<BridgeLink>, now: number): BridgeLink {
    const key = meter.toLowerCase() as Address;
    const prev = this.links.get(key) ?? { meter: key, online: false, since: now, outboxDepth: null, droppedReadings: null, sourceState: null, message: null };
    const next = { ...prev, ...patch };
    if (patch.online !== undefined && patch.online !== prev.online) next.since = now;
    this.links.set(key, next);
    return next;
  }

  link(meter: string): BridgeLink | undefined {
    return this.links.get(meter.toLowerCase());
  }
}
