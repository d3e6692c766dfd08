// Boots the TypeScript WAL checkpointer inside a worker thread: registers the tsx loader there, then loads wal-checkpointer-worker.ts.
import { register } from 'tsx/esm/api';

register();
await import('./wal-checkpointer-worker.ts');
