// Boots the TypeScript market writer inside a worker thread: registers the tsx loader there, then loads market-writer-worker.ts.
import { register } from 'tsx/esm/api';

register();
await import('./market-writer-worker.ts');
