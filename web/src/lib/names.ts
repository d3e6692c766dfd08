// Display names for participant addresses: the live homes' owners plus registered participants (fetched once per snapshot epoch).
import { useMemo } from 'preact/hooks';
import { get } from './api.ts';
import { shortAddr } from './format.ts';
import { useFetched } from './hooks.ts';
import type { LiveView } from '../live.ts';

export function useNames(view: LiveView): (address: string) => string {
  const participants = useFetched(() => get<{ address: string; name: string }[]>('/participants'), [view.epoch]);
  return useMemo(() => {
    const names = new Map<string, string>();
    for (const p of participants.value ?? []) names.set(p.address.toLowerCase(), p.name);
    for (const h of view.homes.values()) names.set(h.owner.toLowerCase(), h.name);
    return (a: string) => names.get(a.toLowerCase()) ?? shortAddr(a);
  }, [participants.value, view.homes.size]);
}
