// A loopback TCP proxy in front of the API server, so tests can do to the
// operator's connections what networks do: cut them, or refuse new ones for a
// while. TLS passes through untouched (the serving cert is valid for 127.0.0.1).
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private blocked = false;
  private readonly targetPort: number;
  port = 0;
  /** Connections accepted so far (tests use it to see reconnects). */
  accepted = 0;

  constructor(targetPort: number) {
    this.targetPort = targetPort;
  }

  async start(port = 0): Promise<number> {
    this.server = createServer((client) => {
      if (this.blocked) {
        client.destroy();
        return;
      }
      this.accepted++;
      const upstream = connect(this.targetPort, '127.0.0.1');
      this.track(client);
      this.track(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
      client.on('close', close);
      upstream.on('close', close);
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this.port;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** Destroys every open connection (like a NAT or load balancer dropping them). */
  cutAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Refuses new connections (and cuts the open ones) until unblocked. */
  block(): void {
    this.blocked = true;
    this.cutAll();
  }

  unblock(): void {
    this.blocked = false;
  }

  async stop(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }
}
