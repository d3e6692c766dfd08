// Boots the TypeScript order recover worker inside a worker thread: registers the tsx loader there, then loads recover-worker.ts.
import { register } from 'tsx/esm/api';

register();
await import('./recover-worker.ts');
