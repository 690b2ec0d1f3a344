/**
 * A TCP proxy on loopback between the simulated clients and a real server, owned by the runner, so
 * network faults happen on real connections: cut every connection, refuse new ones for a while,
 * add latency, drop a connection in the middle of a request, or let a request through and drop
 * its answer ("applied but errored": the server committed, the client never heard).
 */
import net from "node:net";

interface Link {
  client: net.Socket;
  server: net.Socket;
  /** the client sent a request that has had no answer yet */
  awaiting: boolean;
}

export class TcpProxy {
  private server: net.Server | undefined;
  private readonly links = new Set<Link>();
  private refusing = false;
  private port = 0;
  private latencyMs = 0;
  /** drop the next answer to a request (after the server handled it) */
  private dropAnswers = 0;
  /** cut the next request half way */
  private cutRequests = 0;
  readonly counts = { connections: 0, cut: 0, droppedAnswers: 0, cutRequests: 0 };

  constructor(
    private readonly target: { host: string; port: number },
  ) {}

  /** Starts listening on a free loopback port; returns it. */
  async start(): Promise<number> {
    const server = net.createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Closes every connection open now (both ends), as a network cut does. */
  cutAll(): number {
    const n = this.links.size;
    for (const l of [...this.links]) this.close(l);
    this.counts.cut += n;
    return n;
  }

  /**
   * While refusing, the port is closed: a new connection gets ECONNREFUSED, as from a server that
   * is down. The same port opens again afterwards.
   */
  async refuse(on: boolean): Promise<void> {
    if (on === this.refusing || !this.server) return;
    this.refusing = on;
    const server = this.server;
    if (on) await new Promise<void>((resolve) => server.close(() => resolve()));
    else await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
  }

  setLatency(ms: number): void {
    this.latencyMs = Math.max(0, ms);
  }

  /** The next answer to a request is dropped and its connection closed. */
  dropNextAnswer(): void {
    this.dropAnswers += 1;
  }

  /** The next request is forwarded only in part, then its connection is closed. */
  cutNextRequest(): void {
    this.cutRequests += 1;
  }

  async stop(): Promise<void> {
    for (const l of [...this.links]) this.close(l);
    const server = this.server;
    this.server = undefined;
    if (server?.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.counts.connections += 1;
    const server = net.connect(this.target.port, this.target.host);
    const link: Link = { client, server, awaiting: false };
    this.links.add(link);
    client.on("data", (chunk: Buffer) => {
      link.awaiting = true;
      if (this.cutRequests > 0) {
        this.cutRequests -= 1;
        this.counts.cutRequests += 1;
        this.forward(server, chunk.subarray(0, Math.max(1, chunk.length >> 1)), () => this.close(link));
        return;
      }
      this.forward(server, chunk);
    });
    server.on("data", (chunk: Buffer) => {
      if (link.awaiting && this.dropAnswers > 0) {
        this.dropAnswers -= 1;
        this.counts.droppedAnswers += 1;
        this.close(link);
        return;
      }
      link.awaiting = false;
      this.forward(client, chunk);
    });
    for (const s of [client, server]) {
      s.on("error", () => this.close(link));
      s.on("close", () => this.close(link));
    }
  }

  private forward(to: net.Socket, chunk: Buffer, then?: () => void): void {
    const send = () => {
      if (!to.destroyed) to.write(chunk);
      then?.();
    };
    if (this.latencyMs > 0) setTimeout(send, this.latencyMs);
    else send();
  }

  private close(l: Link): void {
    if (!this.links.delete(l)) return;
    l.client.destroy();
    l.server.destroy();
  }
}
