/**
 * Builds the Svelte client from client/ into dist/client, which the server
 * serves (with an SPA fallback). The Svelte plugin reads the root
 * svelte.config.js, where svelte-check finds it too. Paraglide compiles the
 * message files into client/src/paraglide first (the options in scripts/i18n.ts).
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import { paraglideVitePlugin } from '@inlang/paraglide-js'
import { PARAGLIDE } from './scripts/i18n'

const server = process.env.PARLEY_DEV_SERVER ?? 'http://127.0.0.1:4000'

export default defineConfig({
  root: 'client',
  publicDir: 'public',
  plugins: [
    paraglideVitePlugin(PARAGLIDE),
    svelte({ configFile: fileURLToPath(new URL('./svelte.config.js', import.meta.url)) }),
  ],
  build: {
    outDir: '../dist/client',
    emptyOutDir: true,
    target: 'es2022',
    // The editor is loaded on demand; everything else is the initial load, reported by the build.
    chunkSizeWarningLimit: 400,
  },
  server: {
    // `npm run dev` for the server on :4000, then `npx vite` for hot reload on :5173.
    proxy: {
      '/api': server,
      '/healthz': server,
      '/yjs': { target: server.replace(/^http/, 'ws'), ws: true },
      '/socket.io': { target: server, ws: true },
    },
  },
})
