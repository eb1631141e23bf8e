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
    'rate-limiter-flexible',
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
  // Server actions come only from the console's own pages, or from the origins listed in
  // SWITCHYARD_ALLOWED_ORIGINS (read when the server starts; Next.js compares hosts only, the
  // proxy, proxy.ts, first checks the whole origin: scheme, host and port, and ignores
  // X-Forwarded-Host unless SWITCHYARD_TRUSTED_PROXY is set).
  experimental: {
    serverActions: {
      allowedOrigins: (process.env.SWITCHYARD_ALLOWED_ORIGINS ?? '')
        .split(',')
        .map((s) =>
          s
            .trim()
            .replace(/^[a-z]+:\/\//i, '')
            .replace(/\/.*$/, ''),
        )
        .filter(Boolean),
      bodySizeLimit: '64kb',
    },
  },
  // Security headers on every response, static files included: no framing (clickjacking), no MIME
  // sniffing, no referrer leaving the console. The Content-Security-Policy, with a fresh script
  // nonce per response, and HSTS over HTTPS are set by the proxy (proxy.ts).
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
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
