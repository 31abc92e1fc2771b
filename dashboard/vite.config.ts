import { defineConfig, loadEnv } from 'vite';
import { fileURLToPath } from 'node:url';
import { apiUrl, pagesHeadersFile } from './scripts/headers.mjs';

// The dashboard bundles the TypeScript SDK from source, so a build never depends on sdk-ts having been built.
const sdkEntry = fileURLToPath(new URL('../sdk-ts/src/index.ts', import.meta.url));
const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig(({ mode }) => {
  // The API URL is fixed at build time: the page talks to it and, by its CSP, to nothing else.
  const api = apiUrl(loadEnv(mode, here, 'VITE_').VITE_OAKAUTH_API_URL);
  return {
    base: './',
    resolve: { alias: { oakauth: sdkEntry } },
    define: { 'import.meta.env.VITE_OAKAUTH_API_URL': JSON.stringify(api) },
    esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
    build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, sourcemap: false },
    server: { fs: { allow: ['..'] } },
    preview: { host: '127.0.0.1', port: 8788, strictPort: true },
    plugins: [
      {
        name: 'oakauth-pages-headers',
        apply: 'build',
        generateBundle() {
          this.emitFile({ type: 'asset', fileName: '_headers', source: pagesHeadersFile(api) });
        },
      },
    ],
  };
});
