/// <reference types="vitest/config" />
// Vite builds the portal's front-end into dist/, which `migsbyu serve` serves on :8501 with the
// API under /api on the same origin. In development (`npm run dev`) /api is proxied to the server
// named by MIGSBYU_API (default http://127.0.0.1:8501).
//
// The build has no inline script or style (the server's Content-Security-Policy allows neither):
// Vite emits the entry as /assets/*.js and the styles as /assets/*.css; React's style props are
// set through the DOM (element.style), which the policy does not restrict.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const apiTarget = process.env.MIGSBYU_API ?? "http://127.0.0.1:8501";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2020",
    chunkSizeWarningLimit: 400,
    rollupOptions: {
      output: {
        // Long-lived vendor chunks: React, the grid, the charts.
        manualChunks(id) {
          if (/node_modules\/(react|react-dom|scheduler)\//.test(id)) return "react";
          if (id.includes("node_modules/@tanstack/")) return "grid";
          if (id.includes("node_modules/uplot/")) return "charts";
        },
      },
    },
  },
  server: {
    proxy: {
      // The server answers only its own Host (421 otherwise) and its own Origin (403): the dev
      // page's requests are its own, so they are forwarded as the server's.
      "/api": {
        target: apiTarget,
        changeOrigin: true,
        configure: (proxy) =>
          proxy.on("proxyReq", (req) => {
            if (req.getHeader("origin")) req.setHeader("origin", new URL(apiTarget).origin);
          }),
      },
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test-setup.ts"],
    // Generous: `make test` runs these beside C++ builds and tests on two shared cores.
    testTimeout: 30_000,
  },
});
