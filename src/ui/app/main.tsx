/**
 * @module The web UI's entry point (bundled by scripts/build-ui.mjs into dist/ui-bundle/app.js):
 * mounts the app into the shell's #app. The shell itself is served by src/ui/ui-server.ts.
 */
import { render } from 'preact';
import { App } from './views/app.js';
import './styles.css';

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
