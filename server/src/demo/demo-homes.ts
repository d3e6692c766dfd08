// The five demo homes of `npm start`: names, PV sizes and household loads chosen so some sell and some buy.
export interface DemoHome {
  index: number;
  name: string;
  pvPeakW: number;
  loadBaseW: number;
}

export const DEMO_HOMES: DemoHome[] = [
  { index: 1, name: 'Sunny Lane 1', pvPeakW: 7000, loadBaseW: 350 },
  { index: 2, name: 'Sunny Lane 3', pvPeakW: 4500, loadBaseW: 450 },
  { index: 3, name: 'Mill Road 2', pvPeakW: 0, loadBaseW: 600 },
  { index: 4, name: 'Mill Road 4', pvPeakW: 2500, loadBaseW: 500 },
  { index: 5, name: 'Orchard Court 7', pvPeakW: 0, loadBaseW: 800 },
];
