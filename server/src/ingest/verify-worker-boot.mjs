// Boots the TypeScript verify worker inside a worker thread: registers the tsx loader there, then loads verify-worker.ts.
import { register } from 'tsx/esm/api';

register();
await import('./verify-worker.ts');
