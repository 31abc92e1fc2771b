import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

// The dashboard bundles the TypeScript SDK from source, so a build never depends on sdk-ts having been built.
const sdkEntry = fileURLToPath(new URL('../sdk-ts/src/index.ts', import.meta.url));

export default defineConfig({
  base: './',
  resolve: { alias: { oakauth: sdkEntry } },
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, sourcemap: false },
  server: { fs: { allow: ['..'] } },
  preview: { host: '127.0.0.1', port: 8788, strictPort: true },
});
