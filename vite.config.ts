import {defineConfig} from 'vite';

// The UI lives in app/; `npm run build` writes dist/, which `ringside serve` serves.
export default defineConfig({
  root: 'app',
  publicDir: '../public',
  build: {outDir: '../dist', emptyOutDir: true, sourcemap: true},
  worker: {format: 'es'},
});
