// Dashboard entry: mounts the app.
import { render } from 'preact';
import { App } from './app.tsx';
import './style.css';
import { restoreSession } from './session.ts';

render(<App />, document.getElementById('app')!);
void restoreSession();
