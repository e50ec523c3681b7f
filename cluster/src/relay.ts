// Carries TCP between the host's loopback and the real node's network namespace through unix sockets
// (a file path is the same in both namespaces). Two of these run per port: on the host
// `tcp-to-unix 127.0.0.1:PORT=SOCKET` and inside the namespace `unix-to-tcp SOCKET=127.0.0.1:PORT`, so the
// cluster's kubeconfig keeps pointing at https://127.0.0.1:PORT (docs/testing.md, "The real node").
// Usage: node relay.ts tcp-to-unix|unix-to-tcp <from>=<to> [...]
import { connect, createServer, type Socket } from 'node:net';
import { rmSync } from 'node:fs';

type Mode = 'tcp-to-unix' | 'unix-to-tcp';

function pipe(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const end = (): void => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end).on('close', end);
  b.on('error', end).on('close', end);
}

function hostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

function relay(mode: Mode, from: string, to: string): void {
  const server = createServer((client) => {
    const upstream = mode === 'tcp-to-unix' ? connect(to) : connect(hostPort(to).port, hostPort(to).host);
    pipe(client, upstream);
  });
  server.on('error', (err) => {
    console.error(`relay ${from} -> ${to}: ${String(err)}`);
    process.exit(1);
  });
  if (mode === 'tcp-to-unix') {
    const { host, port } = hostPort(from);
    server.listen(port, host);
  } else {
    rmSync(from, { force: true });
    server.listen(from);
  }
}

const [mode, ...pairs] = process.argv.slice(2);
if ((mode !== 'tcp-to-unix' && mode !== 'unix-to-tcp') || pairs.length === 0) {
  console.error('usage: relay.ts tcp-to-unix|unix-to-tcp <from>=<to> ...');
  process.exit(2);
}
for (const p of pairs) {
  const [from, to] = p.split('=');
  if (!from || !to) throw new Error(`not a <from>=<to> pair: ${p}`);
  relay(mode, from, to);
}
process.on('SIGTERM', () => process.exit(0));
