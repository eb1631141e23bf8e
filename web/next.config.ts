import path from 'node:path';
import type { NextConfig } from 'next';

// The console imports the project's own modules (config/, activities/, pipeline/) from the
// repository root, so the root is the project root for tracing and bundling.
const repoRoot = path.resolve(import.meta.dirname, '..');

const nextConfig: NextConfig = {
  // Server-side clients with native parts or dynamic requires stay plain Node modules: Next.js
  // must not bundle (or minify) them. The Temporal client in particular addresses workflows by
  // their string name, so minification cannot break it, but its gRPC bridge must stay external.
  serverExternalPackages: [
    '@temporalio/client',
    '@temporalio/proto',
    '@temporalio/common',
    'kafkajs',
    'cassandra-driver',
    '@aws-sdk/client-dynamodb',
    'pino',
    'prom-client',
  ],
  outputFileTracingRoot: repoRoot,
  // The shared modules are NodeNext-style TypeScript: they import './x.js' meaning './x.ts'.
  // webpack's extensionAlias maps that (Turbopack has no equivalent yet), so the console builds
  // with webpack (`next build --webpack`).
  webpack: (config: { resolve: { extensionAlias?: Record<string, string[]> } }) => {
    config.resolve.extensionAlias = { ...config.resolve.extensionAlias, '.js': ['.ts', '.tsx', '.js'] };
    return config;
  },
  poweredByHeader: false,
  // Security headers on every page and route: no framing (clickjacking), no MIME sniffing, no
  // referrer leaving the console, forms and the base URL only to the console itself. (A script
  // CSP with nonces is not set yet.)
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'Content-Security-Policy', value: "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'" },
          { key: 'X-Frame-Options', value: 'DENY' },
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          { key: 'Referrer-Policy', value: 'no-referrer' },
        ],
      },
    ];
  },
  reactStrictMode: true,
};

export default nextConfig;
