// The dashboard shell: connection indicator and the neighbourhood's homes with their live power.
import { useEffect, useState } from 'preact/hooks';
import { connectLive, type LiveView } from './live.ts';

const fmtW = (w: number) => (Math.abs(w) >= 1000 ? `${(w / 1000).toFixed(2)} kW` : `${w} W`);
const fmtKWh = (wh: number) => `${(wh / 1000).toFixed(3)} kWh`;

export function App() {
  const [view, setView] = useState<LiveView>({ link: 'connecting', homes: new Map(), seq: 0 });
  useEffect(() => {
    const socket = connectLive(setView);
    return () => socket.close();
  }, []);
  const homes = [...view.homes.values()].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <main>
      <header>
        <h1>gridmesh</h1>
        <span class={`link link-${view.link}`} role="status" aria-live="polite" data-testid="link-state">
          {view.link === 'live' ? 'live' : view.link === 'connecting' ? 'connecting…' : 'reconnecting…'}
        </span>
      </header>
      <section aria-labelledby="homes-title">
        <h2 id="homes-title">Homes</h2>
        <table class="homes" data-testid="homes">
          <thead>
            <tr><th scope="col">Home</th><th scope="col">Power now</th><th scope="col">Imported</th><th scope="col">Exported</th><th scope="col">Reading</th></tr>
          </thead>
          <tbody>
            {homes.map((h) => (
              <tr key={h.meter} data-meter={h.meter} data-seq={h.seq}>
                <td>{h.name}</td>
                <td class={h.powerW < 0 ? 'export' : 'import'} data-testid="power" data-power-w={h.powerW}>
                  {h.powerW < 0 ? `exporting ${fmtW(-h.powerW)}` : `importing ${fmtW(h.powerW)}`}
                </td>
                <td>{fmtKWh(h.importWh)}</td>
                <td>{fmtKWh(h.exportWh)}</td>
                <td title={`seq ${h.seq}`}>{h.verified ? '✔ signed' : 'unverified'} · {new Date(h.timestamp).toLocaleTimeString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {homes.length === 0 && <p>No readings yet — waiting for the homes' bridges.</p>}
      </section>
    </main>
  );
}
