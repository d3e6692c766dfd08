#!/usr/bin/env node
// gridmesh-market: the market engine's replay CLI (TypeScript loaded through tsx, no build step).
import { register } from 'tsx/esm/api';
register();
await import('../src/market/cli.ts');
