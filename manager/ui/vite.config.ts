/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The manager serves the console at /ui/ and embeds dist/ (see docs/UI.md). The build must be
// reproducible: CI rebuilds and compares with the committed dist/, so names depend on content
// only (Rollup's content hashes) and nothing embeds a time or a path of this machine.
export default defineConfig({
  base: '/ui/',
  plugins: [react()],
  build: {
    outDir: process.env.ARTICDBM_UI_OUT ?? 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // No inline modulepreload polyfill; every script is a file (CSP script-src 'self').
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 900,
    rollupOptions: {
      output: {
        entryFileNames: 'assets/[name]-[hash].js',
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
    },
  },
  test: {
    environment: 'jsdom',
    include: ['test/**/*.test.{ts,tsx}'],
    setupFiles: ['test/setup.ts'],
    css: false,
  },
});
